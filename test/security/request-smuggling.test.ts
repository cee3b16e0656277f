/**
 * Attack: request smuggling and parameter confusion — Content-Length and
 * Transfer-Encoding together (CL.TE), a second request hidden in a body, a
 * query parameter given twice (which one counts?). Refused at the HTTP
 * parser (400) or by the params collector (400); nothing runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../server/fixtures/harness.js';
import { head, rawExchange } from './raw-http.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
let h: Harness;
before(async () => { h = await startHarness({ flags }); });
after(() => h.close());

test('CL.TE: a signed PUT with both Content-Length and Transfer-Encoding, smuggling a second request, is 400 and nothing runs', async () => {
  const p = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
  const smuggled = 'PUT /v1/flags/beta HTTP/1.1\r\nhost: x\r\ncontent-length: 14\r\n\r\n{"value":true}';
  const chunked = `${p.body!.length.toString(16)}\r\n${p.body!.toString()}\r\n0\r\n\r\n${smuggled}`;
  const headers = { ...p.headers, 'transfer-encoding': 'chunked', 'content-length': String(Buffer.byteLength(chunked)) };
  const answer = await rawExchange(h.port.port!, head('PUT', '/v1/flags/beta', headers) + chunked);
  assert.match(answer, /^HTTP\/1\.1 400/);
  assert.doesNotMatch(answer, /HTTP\/1\.1 200/);
  assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false);
});

test('two Content-Length headers that differ are 400', async () => {
  const p = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
  const raw = `PUT /v1/flags/beta HTTP/1.1\r\nhost: x\r\n${Object.entries(p.headers).filter(([k]) => k !== 'content-length').map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\ncontent-length: ${p.body!.length}\r\ncontent-length: 3\r\n\r\n${p.body!.toString()}`;
  assert.match(await rawExchange(h.port.port!, raw), /^HTTP\/1\.1 400/);
  assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false);
});

test('a query parameter given twice is 400 naming it, even when the signature covers both', async () => {
  const r = await h.admin.send('GET', '/v1/audit', { query: 'limit=1&limit=500' });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.code, 'request.invalid');
  assert.equal(r.json.field, 'limit');
});
