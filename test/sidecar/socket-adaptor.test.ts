/**
 * The socket adaptor through the real opsctl-port bin. Against a recording
 * socket: a param with a newline, ";", a space, a backslash or a quote is
 * refused (400) whatever its schema says, and the socket received not one
 * byte; a socket that is gone, silent or endless is 502/504. Against
 * Debian's HAProxy with the shipped example config: show stat, and drain,
 * disable, enable and weight actually change the server's state (read
 * back from HAProxy itself), then restored; an error answer is 502.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { auditRecords, copyExample, editYaml, eventually, haproxyServer, requireTools, startHaproxy, startOpsctlPort, tempDir, type RunningPort, type Upstream } from '../helpers/sidecar.js';
import { SignedClient, makeKey, writeAllowlist, type TestKey } from '../helpers/signed-client.js';

let dir: string;
let recorder: net.Server;
let received: string[] = [];
let port: RunningPort;
let keys: { operator: TestKey; viewer: TestKey };
let operator: SignedClient;

before(async () => {
  dir = tempDir();
  keys = { operator: makeKey(dir, 'oscar'), viewer: makeKey(dir, 'vera') };
  writeAllowlist(path.join(dir, 'keys'), [[keys.operator, 'operator'], [keys.viewer, 'viewer']]);
  // Records every byte; answers by the first word of the command.
  recorder = net.createServer({ allowHalfOpen: true }, (c) => {
    let got = '';
    c.setEncoding('utf8').on('data', (d: string) => { got += d; });
    c.on('end', () => {
      received.push(got);
      const word = got.split(' ')[0]!.trim();
      if (word === 'silent') return; // never answers, never closes
      if (word === 'endless') {
        const t = setInterval(() => c.write('z'.repeat(8192)), 2);
        c.on('close', () => clearInterval(t));
        c.on('error', () => clearInterval(t));
        return;
      }
      c.end(word === 'fail' ? 'No such server.\n\n' : `echo: ${got}`);
    });
  });
  await new Promise<void>((r) => recorder.listen(path.join(dir, 'rec.sock'), r));
  fs.writeFileSync(path.join(dir, 'gone.sock'), '');
  const free = { type: 'object', properties: { arg: { type: 'string' } }, required: ['arg'] };
  const config = {
    service: { name: 'socket-test', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    endpoints: [
      { id: 's.echo', summary: 'echo', role: 'operator', params: free, socket: { path: './rec.sock', command: 'set thing {arg} now' } },
      { id: 's.fail', summary: 'fails', role: 'operator', socket: { path: './rec.sock', command: 'fail', errorPattern: '\\S' } },
      { id: 's.silent', summary: 'never answers', role: 'operator', socket: { path: './rec.sock', command: 'silent', timeout: '700ms' } },
      { id: 's.endless', summary: 'never stops', role: 'operator', socket: { path: './rec.sock', command: 'endless', maxResponseBytes: 100000, timeout: '20s' } },
    ],
  };
  fs.writeFileSync(path.join(dir, 'opsctl-port.yaml'), JSON.stringify(config, null, 2));
  port = await startOpsctlPort(path.join(dir, 'opsctl-port.yaml'));
  operator = new SignedClient({ host: '127.0.0.1', port: port.port }, keys.operator);
});
after(async () => {
  await port?.stop();
  recorder?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a separator of the protocol in a param is refused whatever the schema says; the socket receives nothing', async () => {
  received = [];
  const attempts: Array<[string, RegExp]> = [
    ['web1;shutdown sessions server app/web2', /";"/],
    ['web1\nshutdown sessions server app/web2', /a newline/],
    ['web1\rdisable', /a carriage return/],
    ['web1 extra', /a space/],
    ['web1\textra', /a tab/],
    ['web1\\;x', /"\\"/],
    ['"quoted"', /"""/],
    ["'quoted'", /"'"/],
    ['`x`', /"`"/],
    ['\u0000', /NUL/],
    ['', /empty/],
    ['x'.repeat(9000), /longer than 8192/],
  ];
  for (const [arg, why] of attempts) {
    const r = await operator.send('POST', '/v1/s/echo', { body: { arg } });
    assert.equal(r.status, 400, `${JSON.stringify(arg)}: ${r.text}`);
    assert.equal(r.json.code, 'request.invalid');
    assert.equal(r.json.field, 'arg');
    assert.match(r.json.detail, why, JSON.stringify(arg));
  }
  assert.deepEqual(received, [], 'the socket received not one byte');
  const ok = await operator.send('POST', '/v1/s/echo', { body: { arg: 'app/web1' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.text, 'echo: set thing app/web1 now\n');
  assert.deepEqual(received, ['set thing app/web1 now\n'], 'exactly one line, exactly as templated');
  await eventually(() => auditRecords(path.join(dir, 'data/audit.jsonl')).filter((r) => r.endpoint === 's.echo' && r.outcome === 'denied').length === attempts.length, 5000, 'every refusal recorded as denied');
});

test('an error answer is 502 upstream.error; silent is 504, endless 502 too_large, a socket that is gone 502 unavailable', async () => {
  const fail = await operator.send('POST', '/v1/s/fail', { body: {} });
  assert.equal(fail.status, 502);
  assert.equal(fail.json.code, 'upstream.error');
  assert.match(fail.json.detail, /No such server\./);
  const silent = await operator.send('POST', '/v1/s/silent', { body: {} });
  assert.equal(silent.status, 504);
  assert.equal(silent.json.code, 'upstream.timeout');
  const endless = await operator.send('POST', '/v1/s/endless', { body: {} });
  assert.equal(endless.status, 502);
  assert.equal(endless.json.code, 'upstream.too_large');
  recorder.close();
  await eventually(() => !fs.existsSync(path.join(dir, 'rec.sock')), 5000, 'the socket to go');
  const gone = await operator.send('POST', '/v1/s/echo', { body: { arg: 'x' } });
  assert.equal(gone.status, 502);
  assert.equal(gone.json.code, 'upstream.unavailable');
});

test('HAProxy: show stat, then drain, disable, enable and weight change the server for real, and are restored', async (t) => {
  if (requireTools(t, 'haproxy')) return;
  const hdir = copyExample('haproxy', tempDir('opsctl-haproxy-'));
  let haproxy: Upstream | undefined;
  let hport: RunningPort | undefined;
  try {
    haproxy = await startHaproxy(hdir);
    writeAllowlist(path.join(hdir, 'opsctl_keys'), [[keys.operator, 'operator'], [keys.viewer, 'viewer']]);
    editYaml(path.join(hdir, 'opsctl-port.yaml'), (doc) => doc.set('port', 0));
    hport = await startOpsctlPort(path.join(hdir, 'opsctl-port.yaml'));
    const target = { host: '127.0.0.1', port: hport.port };
    const oscar = new SignedClient(target, keys.operator);
    const vera = new SignedClient(target, keys.viewer);
    const web1 = () => haproxyServer(hdir, 'app', 'web1');
    const before = await web1();
    assert.equal(before.weight, 10);

    const stat = await vera.send('GET', '/v1/lb/stat');
    assert.equal(stat.status, 200, stat.text);
    const row = stat.json.rows.find((r: Record<string, string>) => r.pxname === 'app' && r.svname === 'web1');
    assert.equal(row.weight, '10');
    assert.equal((await vera.call('health')).json.checks.haproxy.ok, true);
    assert.equal((await vera.send('POST', '/v1/lb/disable', { body: { backend: 'app', server: 'web1' } })).status, 403, 'a viewer cannot');

    const call = (id: string, body: Record<string, unknown>) => oscar.send('POST', `/v1/lb/${id}`, { body });
    assert.equal((await call('disable', { backend: 'app', server: 'web1' })).status, 200);
    assert.equal((await web1()).status, 'MAINT');
    assert.equal((await call('enable', { backend: 'app', server: 'web1' })).status, 200);
    assert.notEqual((await web1()).status, 'MAINT');
    assert.equal((await call('drain', { backend: 'app', server: 'web1' })).status, 200);
    assert.match((await web1()).status, /DRAIN/);
    assert.equal((await call('weight', { backend: 'app', server: 'web1', weight: 256 })).status, 200);
    assert.equal((await web1()).weight, 256);
    assert.equal((await call('weight', { backend: 'app', server: 'web1', weight: 257 })).status, 400, 'the schema bounds it');
    const nope = await call('disable', { backend: 'app', server: 'nope' });
    assert.equal(nope.status, 502);
    assert.equal(nope.json.code, 'upstream.error');
    assert.match(nope.json.detail, /No such server/);
    const inj = await call('disable', { backend: 'app', server: 'web1;disable server app/web2' });
    assert.equal(inj.status, 400);

    // Restore, then check nothing else moved: web2 was never touched.
    assert.equal((await call('weight', { backend: 'app', server: 'web1', weight: 10 })).status, 200);
    assert.equal((await call('enable', { backend: 'app', server: 'web1' })).status, 200, 'enable ends the drain too (state ready)');
    assert.doesNotMatch((await web1()).status, /DRAIN|MAINT/);
    assert.equal((await haproxyServer(hdir, 'app', 'web2')).weight, 10);
    assert.notEqual((await haproxyServer(hdir, 'app', 'web2')).status, 'MAINT');
    assert.equal((await web1()).weight, 10);
    const records = auditRecords(path.join(hdir, 'run/opsctl-port/audit.jsonl'));
    assert.ok(records.some((r) => r.endpoint === 'lb.weight' && r.outcome === 'ok' && r.params.weight === 256 && r.principal === 'oscar'));
    assert.ok(records.some((r) => r.endpoint === 'lb.disable' && r.outcome === 'error' && r.code === 'upstream.error'));
  } finally {
    await hport?.stop();
    await haproxy?.stop();
    fs.rmSync(hdir, { recursive: true, force: true });
  }
});
