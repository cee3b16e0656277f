/**
 * Attack: change the method after signing, or ask for another method with
 * override headers (`X-HTTP-Method-Override`, `_method`). The method is the
 * one on the request line, and it is signed (`@method`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../server/fixtures/harness.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
let h: Harness;
before(async () => { h = await startHarness({ flags }); });
after(() => h.close());

test('override headers and params are ignored: the request-line method decides (405), nothing changes', async () => {
  for (const header of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
    const r = await h.operator.send('POST', '/v1/flags/beta', { body: { value: true }, headers: { [header]: 'PUT' } });
    assert.equal(r.status, 405, `${header}: ${r.text}`);
    assert.equal(r.headers.allow?.includes('PUT'), true);
  }
  const q = await h.operator.send('POST', '/v1/flags/beta', { query: '_method=PUT', body: { value: true } });
  assert.equal(q.status, 405);
  assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false);
});

test('a PUT signed then sent as POST is a bad signature', async () => {
  const r = await h.operator.send('PUT', '/v1/flags/beta', { body: { value: true }, tamper: (p) => { p.method = 'POST'; } });
  assert.equal(r.status, 401);
  assert.equal(r.json.code, 'auth.bad_signature');
});
