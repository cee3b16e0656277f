/**
 * OFREP from opsctl-port: the OpenFeature project's own OFREP provider
 * (@openfeature/ofrep-provider under @openfeature/server-sdk, a client
 * nobody here wrote) reads the config's flags from the `ofrep` listener
 * while an operator flips them through the signed port; a rollout is the
 * same on every read; a relative unix socket with socketMode "0660".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { startOpsctlPort, tempDir, type RunningPort } from '../helpers/sidecar.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let port: RunningPort;
let operator: SignedClient;
let ofrepBase: string;

before(async () => {
  dir = tempDir();
  const oscar = makeKey(dir, 'oscar');
  writeAllowlist(path.join(dir, 'keys'), [[oscar, 'operator']]);
  fs.mkdirSync(path.join(dir, 'run'), { mode: 0o700 });
  const config = (listen: string, extra: Record<string, unknown> = {}) => JSON.stringify({
    service: { name: 'ofrep-test', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    flags: {
      definitions: [
        { name: 'maintenance_mode', type: 'boolean', default: false, description: 'Pause writes' },
        { name: 'page_size', type: 'integer', default: 20, min: 1, max: 100, description: 'Page size' },
        { name: 'new_checkout', type: 'percentage', default: 0, description: 'Rollout' },
      ],
    },
    ofrep: { listen, ...extra },
  });
  fs.writeFileSync(path.join(dir, 'opsctl-port.yaml'), config('127.0.0.1:0'));
  port = await startOpsctlPort(path.join(dir, 'opsctl-port.yaml'));
  ofrepBase = `http://${/OFREP listener of ofrep-test on (127\.0\.0\.1:\d+)/.exec(port.log())![1]}`;
  operator = new SignedClient({ host: '127.0.0.1', port: port.port }, oscar);
  await OpenFeature.setProviderAndWait('sidecar-ofrep', new OFREPProvider({ baseUrl: ofrepBase }));
  fs.writeFileSync(path.join(dir, 'unix.yaml'), config('unix:./run/ofrep.sock', { socketMode: '0660' }).replace('"port":0', '"socket":"./run/port.sock"').replace('./data', './data-unix'));
});
after(async () => {
  await OpenFeature.close();
  await port?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the OpenFeature OFREP provider reads the flags; an operator\'s change is served from the next evaluation', async () => {
  const client = OpenFeature.getClient('sidecar-ofrep');
  assert.equal(await client.getBooleanValue('maintenance_mode', true), false);
  assert.equal(await client.getNumberValue('page_size', 0), 20);
  const unknown = await client.getBooleanDetails('no_such_flag', true);
  assert.equal(unknown.value, true);
  assert.equal(unknown.errorCode, 'FLAG_NOT_FOUND');
  const set = await operator.call('flags.set', { name: 'maintenance_mode', value: true });
  assert.equal(set.status, 200);
  // Served from the very next evaluation once the set has answered: no cache, no poll to wait for.
  assert.equal(await client.getBooleanValue('maintenance_mode', false), true);
  assert.equal((await operator.call('flags.set', { name: 'new_checkout', value: 50 })).status, 200);
  const seen = new Map<string, boolean>();
  for (let i = 0; i < 40; i++) seen.set(`user-${i}`, await client.getBooleanValue('new_checkout', false, { targetingKey: `user-${i}` }));
  const inside = [...seen.values()].filter(Boolean).length;
  assert.ok(inside > 5 && inside < 35, `a 50 % rollout takes some keys and leaves others (${inside} of 40)`);
  for (const [key, value] of seen) assert.equal(await client.getBooleanValue('new_checkout', !value, { targetingKey: key }), value, `sticky for ${key}`);
  const write = await fetch(`${ofrepBase}/v1/flags/maintenance_mode`, { method: 'PUT', body: '{"value":false}' });
  assert.equal(write.status, 404, 'the listener is read-only: the port\'s API is not there');
});

test('a relative unix socket with socketMode "0660"; check refuses a listener off loopback', async () => {
  const unix = await startOpsctlPort(path.join(dir, 'unix.yaml'));
  try {
    const sock = path.join(dir, 'run/ofrep.sock');
    assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request({ socketPath: sock, method: 'POST', path: '/ofrep/v1/evaluate/flags/page_size', headers: { 'content-type': 'application/json', host: 'localhost' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end('{"context":{}}');
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.value, 20);
  } finally {
    await unix.stop();
  }
  fs.writeFileSync(path.join(dir, 'bad.yaml'), fs.readFileSync(path.join(dir, 'opsctl-port.yaml'), 'utf8').replace('127.0.0.1:0', '10.0.0.1:8016'));
  const { runOpsctlPort } = await import('../helpers/sidecar.js');
  const bad = runOpsctlPort(['check', '--config', path.join(dir, 'bad.yaml')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /ofrep\.listen: .*loopback/);
});
