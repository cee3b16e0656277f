/**
 * Attack: send captured signed bytes again — on the same instance (the nonce
 * cache), after the service restarted (the cache is gone), and to another
 * instance with the same allowlist. Every request must cover the instance's
 * random Opsctl-Instance id, so the bytes are good for that instance and
 * that moment only (docs/security.md, "Replay").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { contentDigest, signRequest } from '../../src/protocol/index.js';
import { SignedClient } from '../helpers/signed-client.js';
import { startHarness, type Harness } from '../server/fixtures/harness.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
let h: Harness;
before(async () => { h = await startHarness({ flags }); });
after(() => h.close());

const beta = async (c: SignedClient) => (await c.call('flags.get', { name: 'beta' })).json.value as boolean;

test('in-process replay of the same bytes is 401 auth.replay and runs once', async () => {
  const bytes = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
  assert.equal((await h.operator.sendPrepared(bytes)).status, 200);
  await h.admin.call('flags.set', { name: 'beta', value: false });
  const again = await h.operator.sendPrepared(bytes);
  assert.equal(again.status, 401);
  assert.equal(again.json.code, 'auth.replay');
  assert.equal(await beta(h.viewer), false);
});

test('captured bytes are refused after a restart (within the time window): 401 auth.instance', async () => {
  const bytes = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
  assert.equal((await h.operator.sendPrepared(bytes)).status, 200);
  await h.admin.call('flags.set', { name: 'beta', value: false });
  const before = h.port.instanceId;
  await h.restart();
  assert.notEqual(h.port.instanceId, before, 'a new instance id at every start');
  const replayed = await h.operator.sendPrepared(bytes);
  assert.equal(replayed.status, 401, replayed.text);
  assert.equal(replayed.json.code, 'auth.instance');
  assert.equal(replayed.headers['opsctl-instance'], h.port.instanceId, 'the answer names the current instance');
  assert.equal(await beta(h.viewer), false, 'the replay changed nothing');
});

test('bytes signed for one instance are refused by another with the same allowlist', async () => {
  const other = await startHarness({ flags }, { keysDir: h.dir });
  try {
    assert.notEqual(other.port.instanceId, h.port.instanceId);
    const forA = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
    const onB = await other.operator.sendPrepared(forA);
    assert.equal(onB.status, 401, onB.text);
    assert.equal(onB.json.code, 'auth.instance');
    assert.equal(await beta(other.viewer), false, 'instance B unchanged');
    assert.equal((await h.operator.sendPrepared(forA)).status, 200, 'the same bytes are good on A');
    await h.admin.call('flags.set', { name: 'beta', value: false });
  } finally {
    await other.close();
  }
});

test('the instance header must be present and covered; another value is refused', async () => {
  const none = await h.operator.call('flags.set', { name: 'beta', value: true }, { instance: null });
  assert.equal(none.status, 401);
  assert.equal(none.json.code, 'auth.instance');
  const wrong = await h.operator.call('flags.set', { name: 'beta', value: true }, { instance: 'A'.repeat(22) });
  assert.equal(wrong.json.code, 'auth.instance');
  const uncovered = await h.operator.call('flags.set', { name: 'beta', value: true }, {
    tamper: (r) => { r.headers['opsctl-instance'] = h.port.instanceId; },
    instance: null,
  });
  assert.equal(uncovered.status, 401);
  assert.equal(uncovered.json.code, 'auth.instance', 'a sent but uncovered header does not bind the signature');
  assert.equal(await beta(h.viewer), false);
});

test('every answer carries Opsctl-Instance: 200, 401 unsigned, 404, 400 malformed HTTP', async () => {
  const id = h.port.instanceId;
  assert.equal((await h.viewer.call('health')).headers['opsctl-instance'], id);
  assert.equal((await h.viewer.send('GET', '/v1/health', { unsigned: true })).headers['opsctl-instance'], id);
  assert.equal((await h.viewer.send('GET', '/v1/nope')).headers['opsctl-instance'], id);
  const raw = await new Promise<string>((resolve) => {
    const s = net.connect(h.port.port!, '127.0.0.1', () => s.write('BROKEN\r\n\r\n'));
    let buf = '';
    s.on('data', (c) => { buf += c.toString(); });
    s.on('close', () => resolve(buf));
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.ok(raw.toLowerCase().includes(`opsctl-instance: ${id.toLowerCase()}`), raw);
});

test('any RFC 9421 client can call the port: learn the id from any answer, then cover it', async () => {
  const port = h.port.port!;
  const get = (headers: Record<string, string>, method = 'GET', p = '/v1/health', body?: Buffer) => new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const probe = await get({});
  assert.equal(probe.status, 401);
  const instance = String(probe.headers['opsctl-instance']);
  const body = Buffer.from('{"value":false}');
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-digest': contentDigest(body), 'opsctl-instance': instance };
  const signed = await signRequest({ method: 'PUT', path: '/v1/flags/beta', query: '', headers }, {
    keyid: h.keys.operator.keyid, sign: (d) => h.keys.operator.sign(d),
    components: ['@method', '@path', '@query', 'content-digest', 'opsctl-instance'],
  });
  const r = await get({ ...headers, 'signature-input': signed['signature-input'], signature: signed.signature }, 'PUT', '/v1/flags/beta', body);
  assert.equal(r.status, 200, r.text);
});
