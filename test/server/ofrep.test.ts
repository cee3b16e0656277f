/**
 * The OFREP listener (src/server/README.md, "OFREP") read by clients nobody
 * here wrote: the OpenFeature project's own server-side OFREP provider
 * (@openfeature/ofrep-provider, one request per evaluation) and its polling
 * bulk provider (@openfeature/ofrep-web-provider, ETag + 304), each under
 * its own SDK, against a real internal port while an operator flips flags
 * with signed requests. Then plain HTTP for every error case, the loopback
 * refusals, and the unix socket (the providers only speak http://, so the
 * socket is read with node:http).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { OpenFeature, type Client } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ProviderEvents as WebProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { InternalPortConfigError, type FlagDefinition } from '../../src/server/index.js';
import { createOpenFeatureProvider } from '../../src/server/openfeature/index.js';
import { readAudit, startHarness, type Harness } from './fixtures/harness.js';

const definitions: FlagDefinition[] = [
  { name: 'new_checkout', type: 'boolean', default: false, description: 'the new checkout' },
  { name: 'batch', type: 'integer', default: 10, min: 1, max: 500, description: 'rows per batch' },
  { name: 'ratio', type: 'number', default: 2, description: 'a ratio' },
  { name: 'mode', type: 'string', default: 'normal', enum: ['normal', 'readonly'], description: 'service mode' },
  { name: 'beta_share', type: 'percentage', default: 30, description: 'share of users on the beta' },
];

let h: Harness;
let base: string;
let ofrep: Client;
let node: Client;
before(async () => {
  h = await startHarness({ flags: { definitions }, ofrep: { listen: '127.0.0.1:0' } });
  base = `http://${h.port.ofrep!.address}`;
  await OpenFeature.setProviderAndWait('ofrep', new OFREPProvider({ baseUrl: base }));
  await OpenFeature.setProviderAndWait('node', createOpenFeatureProvider(h.port));
  ofrep = OpenFeature.getClient('ofrep');
  node = OpenFeature.getClient('node');
});
after(async () => {
  await OpenFeature.close();
  await h.close();
});

/** A plain HTTP request to the listener (node:http: unlike fetch it may set Host, and it speaks unix sockets). */
function raw(
  method: string,
  pathname: string,
  body?: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  target: { socketPath: string } | { host: string; port: number } = { host: h.port.ofrep!.host!, port: h.port.ofrep!.port! },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, method, path: pathname, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        let json: unknown;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the OpenFeature OFREP provider resolves boolean, integer, number, string and rollout flags with the types and errors of the spec', async () => {
  const b = await ofrep.getBooleanDetails('new_checkout', true);
  assert.deepEqual([b.value, b.reason, b.variant, b.errorCode], [false, 'STATIC', 'default', undefined]);
  assert.deepEqual(b.flagMetadata, { type: 'boolean' });
  assert.equal(await ofrep.getNumberValue('batch', 0), 10);
  assert.equal(await ofrep.getNumberValue('ratio', 0), 2);
  assert.equal(await ofrep.getStringValue('mode', 'x'), 'normal');
  const split = await ofrep.getBooleanDetails('beta_share', false, { targetingKey: 'user-7' });
  assert.equal(split.reason, 'SPLIT');
  assert.equal(split.flagMetadata.percentage, 30);
  // Errors give the caller's default, with the spec's codes.
  const missing = await ofrep.getBooleanDetails('no_such_flag', true);
  assert.deepEqual([missing.value, missing.errorCode], [true, 'FLAG_NOT_FOUND']);
  const noKey = await ofrep.getBooleanDetails('beta_share', true);
  assert.deepEqual([noKey.value, noKey.errorCode], [true, 'TARGETING_KEY_MISSING']);
  const wrong = await ofrep.getStringDetails('new_checkout', 'fallback');
  assert.deepEqual([wrong.value, wrong.errorCode], ['fallback', 'TYPE_MISMATCH'], 'the type check is the client\'s');
  // A number flag is written with a fraction and an integer flag without, so a Python or Java SDK parses them as float and int.
  assert.match((await raw('POST', '/ofrep/v1/evaluate/flags/ratio', '{}')).text, /"value":2\.0,/);
  assert.match((await raw('POST', '/ofrep/v1/evaluate/flags/batch', '{}')).text, /"value":10,/);
});

test('an operator\'s signed flags.set is what the OFREP provider resolves next, within 1 s; reads are not audited', async () => {
  const auditBefore = readAudit(h.auditFile).length;
  assert.equal(await ofrep.getBooleanValue('new_checkout', false), false);
  const set = await h.operator.call('flags.set', { name: 'new_checkout', value: true });
  assert.equal(set.status, 200, set.text);
  // One request per evaluation: the first evaluation after the set's answer already sees it.
  const t0 = Date.now();
  const after = await ofrep.getBooleanDetails('new_checkout', false);
  const ms = Date.now() - t0;
  assert.deepEqual([after.value, after.reason, after.variant], [true, 'STATIC', 'set']);
  assert.equal(after.flagMetadata.updatedAt, set.json.updatedAt);
  assert.equal(after.flagMetadata.updatedBy, undefined, 'who changed it stays on the signed port');
  assert.ok(ms < 1000, `seen ${ms} ms after the set`);
  for (const [name, value] of [['batch', 250], ['ratio', 0.25], ['mode', 'readonly']] as const) {
    assert.equal((await h.operator.call('flags.set', { name, value })).status, 200);
  }
  assert.equal(await ofrep.getNumberValue('batch', 0), 250);
  assert.equal(await ofrep.getNumberValue('ratio', 0), 0.25);
  assert.equal(await ofrep.getStringValue('mode', 'x'), 'readonly');
  for (let i = 0; i < 20; i++) await ofrep.getBooleanValue('new_checkout', false);
  const records = readAudit(h.auditFile).slice(auditBefore);
  assert.deepEqual([...new Set(records.map((r) => r.endpoint))], ['flags.set'], 'the sets are audited, no read is');
  assert.equal(new Set(records.map((r) => r.requestId)).size, 4);
  const metrics = await h.viewer.call('metrics.get');
  assert.match(metrics.text, /opsctl_ofrep_requests_total\{endpoint="evaluate",status="200"\} \d+/, 'reads are counted in the metrics instead');
});

test('sticky rollout: for the same targetingKey OFREP and the Node provider answer the same', async () => {
  for (const percentage of [30, 65]) {
    assert.equal((await h.operator.call('flags.set', { name: 'beta_share', value: percentage })).status, 200);
    const keys = Array.from({ length: 100 }, (_, i) => `customer-${i}`);
    // In batches of 20: quick on a loaded machine, and far below the connection cap.
    const answers = [];
    for (let i = 0; i < keys.length; i += 20) {
      answers.push(...await Promise.all(keys.slice(i, i + 20).map((targetingKey) => Promise.all([ofrep.getBooleanDetails('beta_share', false, { targetingKey }), node.getBooleanDetails('beta_share', false, { targetingKey })]))));
    }
    let inside = 0;
    answers.forEach(([a, b], i) => {
      assert.deepEqual([a.value, a.variant, a.reason, a.flagMetadata.bucket], [b.value, b.variant, b.reason, b.flagMetadata.bucket], keys[i]);
      if (a.value) inside++;
    });
    assert.ok(Math.abs(inside - percentage) <= 15, `${inside} of 100 in at ${percentage} %`);
  }
});

test('the polling bulk provider (ETag, 304) sees an operator\'s change within 1 s', async () => {
  await WebOpenFeature.setContext({ targetingKey: 'customer-1' });
  // A poll interval well under the 1 s promise; the polls that find nothing new are 304s with no body.
  await WebOpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl: base, pollInterval: 200, cacheMode: 'disabled' }));
  try {
    const web = WebOpenFeature.getClient();
    const before = await h.operator.call('flags.set', { name: 'new_checkout', value: false });
    assert.equal(before.status, 200);
    const t0 = Date.now();
    while (web.getBooleanValue('new_checkout', true) !== false) {
      assert.ok(Date.now() - t0 < 1000, 'the bulk provider saw the reset within 1 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(web.getNumberValue('batch', 0), h.port.flags.get('batch'));
    const polls304 = async () => Number(/opsctl_ofrep_requests_total\{endpoint="bulk",status="304"\} (\d+)/.exec((await h.viewer.call('metrics.get')).text)?.[1] ?? 0);
    const quiet = await polls304();
    await new Promise((r) => setTimeout(r, 600));
    assert.ok((await polls304()) >= quiet + 1, 'an unchanged flag set is a 304 poll');

    const changed = new Promise<number>((resolve) => web.addHandler(WebProviderEvents.ConfigurationChanged, () => resolve(Date.now())));
    assert.equal((await h.operator.call('flags.set', { name: 'new_checkout', value: true })).status, 200);
    const t1 = Date.now();
    const seenAt = await changed;
    assert.ok(seenAt - t1 < 1000, `PROVIDER_CONFIGURATION_CHANGED ${seenAt - t1} ms after the set's answer`);
    assert.equal(web.getBooleanValue('new_checkout', false), true);
  } finally {
    await WebOpenFeature.close();
  }
});

test('plain HTTP: every error has its OFREP code and status, JSON, never a stack trace', async () => {
  const cases: Array<[string, string, string | undefined, Record<string, string> | undefined, number, string | undefined]> = [
    ['POST', '/ofrep/v1/evaluate/flags/nope', '{"context":{}}', undefined, 404, 'FLAG_NOT_FOUND'],
    ['POST', '/ofrep/v1/evaluate/flags/new_checkout', '{"context":', undefined, 400, 'PARSE_ERROR'],
    ['POST', '/ofrep/v1/evaluate/flags/new_checkout', '[1]', undefined, 400, 'PARSE_ERROR'],
    ['POST', '/ofrep/v1/evaluate/flags/new_checkout', '{"context":[]}', undefined, 400, 'INVALID_CONTEXT'],
    ['POST', '/ofrep/v1/evaluate/flags/beta_share', '{"context":{"targetingKey":42}}', undefined, 400, 'INVALID_CONTEXT'],
    ['POST', '/ofrep/v1/evaluate/flags/beta_share', '{"context":{"plan":"pro"}}', undefined, 400, 'TARGETING_KEY_MISSING'],
    ['POST', '/ofrep/v1/evaluate/flags', '{"context":"x"}', undefined, 400, 'INVALID_CONTEXT'],
    ['POST', '/ofrep/v1/evaluate/flags/new_checkout', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }, 400, 'PARSE_ERROR'],
    ['POST', '/ofrep/v1/evaluate/flags/new_checkout', '{}', { 'content-type': 'application/json', host: 'rebound.example:80' }, 403, 'GENERAL'],
    ['GET', '/ofrep/v1/evaluate/flags/new_checkout', undefined, {}, 405, 'GENERAL'],
    ['PUT', '/ofrep/v1/evaluate/flags', '{}', undefined, 405, 'GENERAL'],
    ['POST', '/v1/flags', '{}', undefined, 404, undefined],
    ['POST', '/ofrep/v1/evaluate/flags/a/b', '{}', undefined, 404, undefined],
    ['POST', '/ofrep/v2/evaluate/flags', '{}', undefined, 404, undefined],
  ];
  for (const [method, pathname, body, headers, status, code] of cases) {
    const r = await raw(method, pathname, body, headers);
    const what = `${method} ${pathname} ${body ?? ''} ${JSON.stringify(headers ?? {})}`;
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /^application\/json/, what);
    assert.equal(r.json?.errorCode, code, what);
    assert.equal(typeof r.json?.errorDetails, 'string', what);
    assert.doesNotMatch(r.text, /\n\s+at |node:internal|\.ts:\d/, what);
    if (status === 405) assert.equal(r.headers.allow, 'POST', what);
  }
  // A single failure names its key, as OFREP's evaluationFailure requires.
  assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags/nope', '{}')).json.key, 'nope');
  // Hosts that are loopback pass; so do an empty body, a body with no context (only a rollout needs a key) and no Content-Type.
  for (const host of ['localhost', `127.0.0.1:${h.port.ofrep!.port}`, '[::1]:1']) {
    assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags/mode', '', { host })).status, 200, host);
  }
  assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags/mode', '{}', {})).json.value, h.port.flags.get('mode'));
  // Too large: 413 before the body is read.
  const big = await raw('POST', '/ofrep/v1/evaluate/flags/mode', JSON.stringify({ context: { targetingKey: 'k', pad: 'x'.repeat(70_000) } }));
  assert.deepEqual([big.status, big.json.errorCode], [413, 'PARSE_ERROR']);
});

test('bulk: every flag, a rollout failure in its place without a key, ETag and If-None-Match → 304 until a flag changes', async () => {
  const noKey = await raw('POST', '/ofrep/v1/evaluate/flags', '{"context":{}}');
  assert.equal(noKey.status, 200);
  assert.deepEqual(noKey.json.flags.map((f: { key: string }) => f.key), definitions.map((d) => d.name));
  assert.equal(noKey.json.flags.find((f: { key: string }) => f.key === 'beta_share').errorCode, 'TARGETING_KEY_MISSING');
  const first = await raw('POST', '/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"customer-1"}}');
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[\w-]+"$/);
  assert.notEqual(etag, noKey.headers.etag, 'the tag covers what this context reads');
  const again = await raw('POST', '/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"customer-1"}}', { 'content-type': 'application/json', 'if-none-match': etag });
  assert.deepEqual([again.status, again.text, again.headers.etag], [304, '', etag]);
  assert.equal((await h.operator.call('flags.set', { name: 'batch', value: 77 })).status, 200);
  const changed = await raw('POST', '/ofrep/v1/evaluate/flags', '{"context":{"targetingKey":"customer-1"}}', { 'content-type': 'application/json', 'if-none-match': etag });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.etag, etag);
  assert.equal(changed.json.flags.find((f: { key: string }) => f.key === 'batch').value, 77);
});

test('slow headers are cut off by the port\'s headersTimeoutMs', async () => {
  const slow = await startHarness({ flags: { definitions }, ofrep: { listen: '127.0.0.1:0' }, headersTimeoutMs: 400, requestTimeoutMs: 800 });
  try {
    const sock = net.connect(slow.port.ofrep!.port!, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: localhost\r\n');
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (c) => { buf += c.toString(); });
      sock.on('close', () => resolve(buf));
    });
    assert.ok(Date.now() - started < 3000, 'closed promptly');
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"errorCode":"PARSE_ERROR"/);
  } finally {
    await slow.close();
  }
});

test('ofrep.listen: loopback only with no override, checked before anything opens; a failed start can be retried', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '10.1.2.3:8016', 'unix:relative.sock', 'localhost', '127.0.0.1:99999', 'http://127.0.0.1:1']) {
    await assert.rejects(startHarness({ ofrep: { listen }, allowNonLoopback: true }), (e: Error) => {
      assert.ok(e instanceof InternalPortConfigError, `${listen}: ${e.message}`);
      assert.match(e.message, /OFREP|ofrep/, listen);
      assert.doesNotMatch(e.message, /allowNonLoopback/, `${listen}: no override is offered`);
      return true;
    });
  }
  await assert.rejects(startHarness({ ofrep: { listen: '127.0.0.1:0', socketMode: '0660' } }), /socketMode is for a unix/);
  await assert.rejects(startHarness({ ofrep: { listen: 'unix:/tmp/x.sock', socketMode: '0666' as '0660' } }), /"0600" or "0660"/);
  // The port's own address taken: the whole start fails, and the same audit log opens again afterwards.
  const taken = await startHarness({ ofrep: { listen: `127.0.0.1:${h.port.ofrep!.port}` } }).then(() => 'started', (e: Error) => e);
  assert.ok(taken instanceof InternalPortConfigError && /EADDRINUSE/.test(taken.message), String(taken));
  const local = await startHarness({ flags: { definitions }, ofrep: { listen: 'localhost:0' } });
  try {
    assert.ok(['127.0.0.1', '::1'].includes(local.port.ofrep!.host!), `a name binds its loopback address: ${local.port.ofrep!.host}`);
    assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags/mode', '{}', undefined, { host: local.port.ofrep!.host!, port: local.port.ofrep!.port! })).status, 200);
  } finally {
    await local.close();
  }
});

test('unix socket: 0600 by default or 0660, a stale socket replaced, a live one or another file refused, removed by close()', async () => {
  const dir = fs.mkdtempSync('/tmp/ofrep-');
  const socketPath = path.join(dir, 'ofrep.sock');
  try {
    const u = await startHarness({ flags: { definitions }, ofrep: { listen: `unix:${socketPath}` } });
    try {
      assert.equal(u.port.ofrep!.address, socketPath);
      assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
      // No Host check on a socket: a browser cannot reach one.
      const r = await raw('POST', '/ofrep/v1/evaluate/flags/new_checkout', '{"context":{"targetingKey":"x"}}', { 'content-type': 'application/json', host: 'anything' }, { socketPath });
      assert.deepEqual([r.status, r.json.value, r.json.variant], [200, false, 'default']);
      await assert.rejects(startHarness({ ofrep: { listen: `unix:${socketPath}` } }), /in use/);
      assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags', '{}', undefined, { socketPath })).status, 200, 'the live one was left alone');
    } finally {
      await u.close();
    }
    assert.ok(!fs.existsSync(socketPath), 'close() removed the socket');

    // A socket file left by a crashed process (nobody listening) is replaced, and 0660 opens it to the group.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(socketPath, r));
    fs.linkSync(socketPath, `${socketPath}.keep`);
    await new Promise((r) => stale.close(r));
    fs.renameSync(`${socketPath}.keep`, socketPath);
    assert.ok(fs.lstatSync(socketPath).isSocket());
    const g = await startHarness({ flags: { definitions }, ofrep: { listen: `unix:${socketPath}`, socketMode: '0660' } });
    try {
      assert.equal(fs.statSync(socketPath).mode & 0o777, 0o660);
      assert.equal((await raw('POST', '/ofrep/v1/evaluate/flags/mode', '{}', undefined, { socketPath })).json.value, 'normal');
    } finally {
      await g.close();
    }

    fs.writeFileSync(socketPath, 'not a socket');
    await assert.rejects(startHarness({ ofrep: { listen: `unix:${socketPath}` } }), /not a socket/);
    assert.equal(fs.readFileSync(socketPath, 'utf8'), 'not a socket', 'left alone');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
