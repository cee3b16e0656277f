/**
 * Attack: exhaust memory or connections with bodies over the limit
 * (declared, chunked, or invited by Expect: 100-continue) and with headers
 * or bodies sent byte by byte. 413 before buffering, 408 when too slow.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../server/fixtures/harness.js';
import { head, rawExchange } from './raw-http.js';

let h: Harness;
before(async () => { h = await startHarness({ bodyLimitBytes: 4096, headersTimeoutMs: 400, requestTimeoutMs: 800 }); });
after(() => h.close());

test('a declared body over the limit is 413 before it is read', async () => {
  const big = { value: 'x'.repeat(5000) };
  const r = await h.operator.send('PUT', '/v1/flags/nope', { body: big });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'request.too_large');
});

test('a chunked body that grows past the limit is 413', async () => {
  const p = await h.operator.prepare('PUT', '/v1/flags/nope', { body: { value: 'y'.repeat(5000) } });
  const { 'content-length': _cl, ...headers } = p.headers;
  const body = p.body!;
  const chunks = [body.subarray(0, 2000), body.subarray(2000, 4000), body.subarray(4000)].map((c) => `${c.length.toString(16)}\r\n${c.toString()}\r\n`).join('') + '0\r\n\r\n';
  const answer = await rawExchange(h.port.port!, head('PUT', '/v1/flags/nope', { ...headers, 'transfer-encoding': 'chunked' }) + chunks);
  assert.match(answer, /^HTTP\/1\.1 413/);
});

test('Expect: 100-continue with an oversized body is refused without inviting it', async () => {
  const p = await h.operator.prepare('PUT', '/v1/flags/nope', { body: { value: 'z'.repeat(5000) } });
  const answer = await rawExchange(h.port.port!, head('PUT', '/v1/flags/nope', { ...p.headers, expect: '100-continue' }), 1000);
  assert.doesNotMatch(answer, /100 Continue/);
  assert.match(answer, /^HTTP\/1\.1 413/);
});

test('slowloris: headers that never finish are cut with 408; a body that never finishes too', async () => {
  const started = Date.now();
  const slow = await rawExchange(h.port.port!, 'GET /v1/health HTTP/1.1\r\nhost: x\r\n', 4000);
  assert.match(slow, /^HTTP\/1\.1 408/);
  assert.ok(Date.now() - started < 3500, 'cut promptly');
  const p = await h.operator.prepare('PUT', '/v1/flags/nope', { body: { value: true } });
  const partial = await rawExchange(h.port.port!, head('PUT', '/v1/flags/nope', p.headers) + p.body!.subarray(0, 3).toString(), 4000);
  assert.ok(partial === '' || /^HTTP\/1\.1 (408|400)/.test(partial), `the unfinished body is not served: ${partial.slice(0, 40)}`);
  assert.equal((await h.viewer.call('health')).status, 200, 'the port still serves');
});
