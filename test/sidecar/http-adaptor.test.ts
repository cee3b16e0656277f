/**
 * The http adaptor through the real opsctl-port bin: path params as one
 * percent-encoded segment (traversal refused before anything is sent),
 * query and bodies from params, a token from a secret file (never in the
 * audit log or the log), the upstream's status deciding the outcome, and
 * an upstream that is down, slow, endless or too large. Then Caddy's admin
 * API on a unix socket through the shipped example: read, and replace the
 * config with a second admin's approval.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { auditRecords, copyExample, editYaml, eventually, requireTools, startCaddy, startOpsctlPort, tempDir, type RunningPort, type Upstream } from '../helpers/sidecar.js';
import { SignedClient, makeKey, writeAllowlist, type TestKey } from '../helpers/signed-client.js';
import { freePort } from '../helpers/sshd.js';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let dir: string;
let upstream: http.Server;
let seen: Seen[] = [];
let port: RunningPort;
let keys: { admin: TestKey; operator: TestKey; viewer: TestKey };
let admin: SignedClient;
let operator: SignedClient;
let viewer: SignedClient;
const TOKEN = 'Bearer tok-3f9a2c71e0';

const ep = (id: string, role: string, http: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id, summary: id, role, ...extra, http: { upstream: 'unix:./up.sock', ...http } });

before(async () => {
  dir = tempDir();
  keys = { admin: makeKey(dir, 'alice'), operator: makeKey(dir, 'oscar'), viewer: makeKey(dir, 'vera') };
  writeAllowlist(path.join(dir, 'keys'), [[keys.admin, 'admin'], [keys.operator, 'operator'], [keys.viewer, 'viewer']]);
  fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  upstream = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const u = req.url!;
      if (u.startsWith('/items')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: u, method: req.method, body: body ? JSON.parse(body) : null }));
      } else if (u === '/raw') {
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ contentType: req.headers['content-type'], body }));
      } else if (u === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words\nsecond line\n');
      } else if (u === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such thing"}');
      } else if (u === '/slow') {
        setTimeout(() => res.writeHead(200).end('late'), 3000);
      } else if (u === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => res.write('x'.repeat(4096)), 5);
        res.on('close', () => clearInterval(t));
      } else if (u === '/big') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2_000_000 }).end('"' + 'y'.repeat(1_999_998) + '"');
      } else {
        res.writeHead(500).end('unexpected');
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(path.join(dir, 'up.sock'), r));
  const closedPort = await freePort();
  const config = {
    service: { name: 'http-test', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    endpoints: [
      ep('t.item', 'viewer', { path: '/items/{name}', query: { q: '{q}' }, headers: { authorization: { file: './token' }, 'x-fixed': 'yes' } }, { params: { type: 'object', properties: { name: { type: 'string' }, q: { type: 'string' } }, required: ['name'] } }),
      ep('t.create', 'operator', { method: 'POST', path: '/items' }, { params: { type: 'object', properties: { name: { type: 'string' }, price: { type: 'integer' } }, required: ['name'] } }),
      ep('t.raw', 'operator', { method: 'PUT', path: '/raw', body: { param: 'doc' } }, { params: { type: 'object', properties: { doc: { type: 'string' } }, required: ['doc'] } }),
      ep('t.tmpl', 'operator', { method: 'POST', path: '/items', body: { json: { kind: 'fixed', count: '{n}', label: 'n={n}', opt: '{absent}' } } }, { params: { type: 'object', properties: { n: { type: 'integer' }, absent: { type: 'string' } }, required: ['n'] } }),
      ep('t.text', 'viewer', { path: '/text' }),
      ep('t.missing', 'viewer', { path: '/missing' }),
      ep('t.slow', 'viewer', { path: '/slow', timeout: '500ms' }),
      ep('t.endless', 'viewer', { path: '/endless', timeout: '20s', maxResponseBytes: 65536 }),
      ep('t.big', 'viewer', { path: '/big' }),
      ep('t.down', 'viewer', { upstream: `http://127.0.0.1:${closedPort}`, path: '/x' }),
    ],
  };
  fs.writeFileSync(path.join(dir, 'opsctl-port.yaml'), JSON.stringify(config, null, 2));
  port = await startOpsctlPort(path.join(dir, 'opsctl-port.yaml'));
  const target = { host: '127.0.0.1', port: port.port };
  admin = new SignedClient(target, keys.admin);
  operator = new SignedClient(target, keys.operator);
  viewer = new SignedClient(target, keys.viewer);
});
after(async () => {
  await port?.stop();
  upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a {param} in the path is one percent-encoded segment; traversal is refused before anything is sent', async () => {
  seen = [];
  const ok = await viewer.send('GET', '/v1/t/item', { query: `name=${encodeURIComponent('a/b c?d')}&q=${encodeURIComponent('x&y=1')}` });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.url, '/items/a%2Fb%20c%3Fd?q=x%26y%3D1');
  assert.equal(seen[0]!.headers.authorization, TOKEN, 'the token from the secret file is sent');
  assert.equal(seen[0]!.headers['x-fixed'], 'yes');
  assert.equal(seen[0]!.headers.host, '', 'a unix-socket upstream gets an empty Host (as Caddy\'s admin API wants)');
  const encoded = await viewer.send('GET', '/v1/t/item', { query: `name=${encodeURIComponent('%2F..%2F..')}` });
  assert.equal(encoded.json.url, '/items/%252F..%252F..', 'an encoded slash stays data inside the one segment');
  seen = [];
  for (const name of ['..', '.', '']) {
    const r = await viewer.send('GET', '/v1/t/item', { query: `name=${encodeURIComponent(name)}` });
    assert.equal(r.status, 400, `name=${JSON.stringify(name)}: ${r.text}`);
    assert.equal(r.json.code, 'request.invalid');
    assert.equal(r.json.field, 'name');
  }
  const nul = await viewer.send('GET', '/v1/t/item', { query: 'name=a%00b' });
  assert.equal(nul.status, 400);
  const long = await viewer.send('GET', '/v1/t/item', { query: `name=${'z'.repeat(9000)}` });
  assert.equal(long.status, 400);
  assert.match(long.json.detail, /longer than 8192/);
  const extra = await viewer.send('GET', '/v1/t/item', { query: 'name=a&evil=1' });
  assert.equal(extra.status, 400);
  assert.equal(extra.json.field, 'evil', 'an undeclared param is refused');
  assert.deepEqual(seen, [], 'the upstream saw none of the refused requests');
});

test('bodies: the params as JSON, one param as the raw body, a JSON template', async () => {
  seen = [];
  const created = await operator.send('POST', '/v1/t/create', { body: { name: 'widget', price: 5 } });
  assert.equal(created.status, 200, created.text);
  assert.deepEqual(created.json, { url: '/items', method: 'POST', body: { name: 'widget', price: 5 } });
  const raw = await operator.send('POST', '/v1/t/raw', { body: { doc: 'line one\nline two' } });
  assert.equal(raw.status, 200, 'a 2xx upstream status is success');
  assert.deepEqual(raw.json, { contentType: 'text/plain; charset=utf-8', body: 'line one\nline two' });
  assert.equal(seen[1]!.method, 'PUT');
  const tmpl = await operator.send('POST', '/v1/t/tmpl', { body: { n: 7 } });
  assert.deepEqual(tmpl.json.body, { kind: 'fixed', count: 7, label: 'n=7' });
});

test('the answer: JSON as JSON, text as text; an error status is 502 upstream.error with the upstream\'s status and answer', async () => {
  const text = await viewer.send('GET', '/v1/t/text');
  assert.equal(text.status, 200);
  assert.match(String(text.headers['content-type']), /^text\/plain/);
  assert.equal(text.text, 'plain words\nsecond line\n');
  const missing = await viewer.send('GET', '/v1/t/missing');
  assert.equal(missing.status, 502);
  assert.equal(missing.json.code, 'upstream.error');
  assert.equal(missing.json.upstreamStatus, 404);
  assert.match(missing.json.detail, /t\.missing: the upstream answered 404: \{"error":"no such thing"\}/);
});

test('an upstream that is down, slow, endless or too large: 502, 504, 502 — and the port keeps serving', async () => {
  const down = await viewer.send('GET', '/v1/t/down');
  assert.equal(down.status, 502);
  assert.equal(down.json.code, 'upstream.unavailable');
  const t0 = Date.now();
  const slow = await viewer.send('GET', '/v1/t/slow');
  assert.equal(slow.status, 504);
  assert.equal(slow.json.code, 'upstream.timeout');
  assert.ok(Date.now() - t0 < 2500, 'answered at the deadline, not when the upstream finished');
  const endless = await viewer.send('GET', '/v1/t/endless');
  assert.equal(endless.status, 502);
  assert.equal(endless.json.code, 'upstream.too_large');
  const big = await viewer.send('GET', '/v1/t/big');
  assert.equal(big.json.code, 'upstream.too_large');
  assert.equal((await viewer.call('health')).status, 200);
  const metrics = (await viewer.call('metrics.get')).text;
  assert.match(metrics, /opsctl_port_upstream_calls_total\{endpoint="t\.slow",kind="http",outcome="timeout"\} 1/);
  assert.match(metrics, /opsctl_port_upstream_calls_total\{endpoint="t\.down",kind="http",outcome="unavailable"\} 1/);
});

test('roles, dry-run and the audit: a viewer cannot call an operator endpoint; the token is in no record', async () => {
  seen = [];
  const denied = await viewer.send('POST', '/v1/t/create', { body: { name: 'x' } });
  assert.equal(denied.status, 403);
  const dry = await operator.send('POST', '/v1/t/create', { body: { name: 'dry' }, headers: { 'opsctl-dry-run': '1' } });
  assert.equal(dry.status, 200);
  assert.deepEqual(dry.json.wouldChange, { would: 'send', upstream: `unix:${path.join(dir, 'up.sock')}`, method: 'POST', path: '/items', headers: { host: '', 'content-type': 'application/json' }, bodyBytes: 14 });
  const item = await admin.send('GET', '/v1/t/item', { query: 'name=audit-me', headers: { 'opsctl-dry-run': '1' } });
  assert.equal(item.status, 200);
  assert.deepEqual(seen.map((s) => s.url), ['/items/audit-me'], 'only the GET reached the upstream (GETs have no dry-run)');
  const file = path.join(dir, 'data/audit.jsonl');
  await eventually(() => auditRecords(file).some((r) => r.endpoint === 't.create' && r.outcome === 'dry-run'), 5000, 'the dry-run record');
  const records = auditRecords(file);
  assert.ok(records.some((r) => r.endpoint === 't.create' && r.outcome === 'denied' && r.principal === 'vera'));
  assert.ok(records.some((r) => r.endpoint === 't.item' && r.outcome === 'ok' && r.params.name === 'audit-me'));
  const text = fs.readFileSync(file, 'utf8') + port.log();
  assert.ok(!text.includes('tok-3f9a2c71e0'), 'the token is neither in the audit log nor in the log');
});

test('Caddy: its admin API on a unix socket, read, and replaced only with a second admin\'s approval', async (t) => {
  if (requireTools(t, 'caddy')) return;
  const cdir = copyExample('caddy', tempDir('opsctl-caddy-'));
  let caddy: Upstream | undefined;
  let cport: RunningPort | undefined;
  try {
    caddy = await startCaddy(cdir);
    const bob = makeKey(cdir, 'bob');
    writeAllowlist(path.join(cdir, 'opsctl_keys'), [[keys.admin, 'admin'], [bob, 'admin'], [keys.viewer, 'viewer']]);
    editYaml(path.join(cdir, 'opsctl-port.yaml'), (doc) => doc.set('port', 0));
    cport = await startOpsctlPort(path.join(cdir, 'opsctl-port.yaml'));
    const target = { host: '127.0.0.1', port: cport.port };
    const alice = new SignedClient(target, keys.admin);
    const vera = new SignedClient(target, keys.viewer);
    const approver = new SignedClient(target, bob);
    const ups = await vera.send('GET', '/v1/caddy/upstreams');
    assert.equal(ups.status, 200, ups.text);
    assert.deepEqual(ups.json.map((u: { address: string }) => u.address).sort(), [`127.0.0.1:${caddy.env.BACKEND1_PORT}`, `127.0.0.1:${caddy.env.BACKEND2_PORT}`].sort());
    const config = (await vera.send('GET', '/v1/caddy/config')).json;
    assert.equal(config.admin.listen, `unix/${path.join(cdir, 'run/caddy-admin.sock')}`);
    assert.equal((await vera.call('health')).json.checks.caddy.ok, true);

    // The new config: one upstream instead of two.
    const next = structuredClone(config);
    const proxy = next.apps.http.servers.srv0.routes[0].handle[0].routes[0].handle[0];
    proxy.upstreams = [{ dial: `127.0.0.1:${caddy.env.BACKEND1_PORT}` }];
    assert.equal((await vera.send('POST', '/v1/caddy/load', { body: { config: next }, headers: { 'opsctl-reason': 'x' } })).status, 403, 'a viewer cannot');
    const bad = await alice.send('POST', '/v1/caddy/load', { body: { config: { ...next, admin: { listen: 'localhost:2019' } } }, headers: { 'opsctl-reason': 'move admin' } });
    assert.equal(bad.status, 400, 'a config that would move the admin API off its socket is refused by the schema');
    const noReason = await alice.send('POST', '/v1/caddy/load', { body: { config: next } });
    assert.equal(noReason.status, 400, 'requireReasonForDestructive');
    const held = await alice.send('POST', '/v1/caddy/load', { body: { config: next }, headers: { 'opsctl-reason': 'drop backend 2' } });
    assert.equal(held.status, 202, held.text);
    const { id, digest } = held.json.approval;
    assert.equal((await vera.send('GET', '/v1/caddy/upstreams')).json.length, 2, 'nothing changed while it waits');
    const self = await alice.send('POST', `/v1/approvals/${id}/approve`, { body: { digest } });
    assert.equal(self.status, 403, 'the requester cannot approve');
    const approved = await approver.send('POST', `/v1/approvals/${id}/approve`, { body: { digest } });
    assert.equal(approved.status, 200, approved.text);
    await eventually(async () => (await vera.send('GET', '/v1/caddy/upstreams')).json.length === 1, 10_000, 'Caddy to run the new config');
    const records = auditRecords(path.join(cdir, 'run/opsctl-port/audit.jsonl')).filter((r) => r.endpoint === 'caddy.load');
    const ran = records.find((r) => r.outcome === 'ok');
    assert.ok(ran, 'the approved load is recorded');
    assert.deepEqual(ran.approval.approvers, ['bob']);
    assert.equal(ran.reason, 'drop backend 2');
  } finally {
    await cport?.stop();
    await caddy?.stop();
    fs.rmSync(cdir, { recursive: true, force: true });
  }
});
