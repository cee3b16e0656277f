/**
 * Attack: requests that are unsigned, signed by another key, tampered after
 * signing, stale or from the future, that leave a required component
 * uncovered, or whose nonce is too short to be unguessable (< 128 bits).
 * All are 401 and run nothing (docs/security.md, "Request signatures").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignedClient, type PreparedRequest } from '../helpers/signed-client.js';
import { nonceBits } from '../../src/protocol/signature.js';
import { startHarness, type Harness } from '../server/fixtures/harness.js';

let h: Harness;
const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
before(async () => { h = await startHarness({ flags }); });
after(() => h.close());

const setBeta = (c: SignedClient, opts = {}) => c.call('flags.set', { name: 'beta', value: true }, opts);
const beta = async () => (await h.viewer.call('flags.get', { name: 'beta' })).json.value as boolean;

test('unsigned, foreign, tampered, stale, future and under-covered requests are 401 and change nothing', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => ReturnType<typeof setBeta>, string]> = [
    ['unsigned', () => setBeta(h.operator, { unsigned: true }), 'auth.missing'],
    ['key not on the allowlist', () => setBeta(h.stranger), 'auth.unknown_key'],
    ['allowed keyid, signed by another key', () => setBeta(h.stranger, { keyid: h.keys.operator.keyid }), 'auth.bad_signature'],
    ['method changed', () => setBeta(h.operator, { tamper: 'method' }), 'auth.bad_signature'],
    ['path changed', () => h.operator.send('PUT', '/v1/flags/beta', { body: { value: true }, tamper: (r) => { r.path = '/v1/flags/Beta'; } }), 'auth.bad_signature'],
    ['query added', () => setBeta(h.operator, { tamper: 'query' }), 'auth.bad_signature'],
    ['body changed, digest kept', () => setBeta(h.operator, { tamper: 'body' }), 'auth.bad_signature'],
    ['body and digest changed', () => setBeta(h.operator, { tamper: 'digest-and-body' }), 'auth.bad_signature'],
    ['signature bytes flipped', () => setBeta(h.operator, { tamper: 'signature' }), 'auth.bad_signature'],
    ['reason added after signing', () => setBeta(h.operator, { tamper: (r: PreparedRequest) => { r.headers['opsctl-reason'] = 'sneaky'; } }), 'auth.bad_signature'],
    ['stale', () => setBeta(h.operator, { created: now - 120 }), 'auth.expired'],
    ['future', () => setBeta(h.operator, { created: now + 120 }), 'auth.expired'],
    ['content-digest uncovered', () => setBeta(h.operator, { components: ['@method', '@path', '@query'] }), 'auth.bad_signature'],
    ['@method uncovered', () => setBeta(h.operator, { components: ['@path', '@query', 'content-digest'] }), 'auth.bad_signature'],
    ['@query uncovered', () => setBeta(h.operator, { components: ['@method', '@path', 'content-digest'] }), 'auth.bad_signature'],
    ['96-bit nonce, base64url (16 chars)', () => setBeta(h.operator, { nonce: randomBytes(12).toString('base64url') }), 'auth.bad_signature'],
    ['96-bit nonce, hex (24 chars)', () => setBeta(h.operator, { nonce: randomBytes(12).toString('hex') }), 'auth.bad_signature'],
    ['120-bit nonce, hex (30 chars)', () => setBeta(h.operator, { nonce: randomBytes(15).toString('hex') }), 'auth.bad_signature'],
  ];
  for (const [name, run, code] of cases) {
    const r = await run();
    assert.equal(r.status, 401, `${name}: ${r.text}`);
    assert.equal(r.json.code, code, name);
  }
  assert.equal(await beta(), false, 'no refused request changed the flag');
});

test('a 128-bit nonce is enough, in base64url or hex; the signer defaults to 128 bits', async () => {
  assert.equal((await setBeta(h.operator, { nonce: randomBytes(16).toString('base64url') })).status, 200);
  assert.equal((await h.operator.call('flags.set', { name: 'beta', value: false }, { nonce: randomBytes(16).toString('hex') })).status, 200);
  assert.equal(nonceBits(randomBytes(16).toString('base64url')), 132);
  assert.equal(nonceBits('a'.repeat(32)), 128);
  const prepared = await h.operator.prepare('GET', '/v1/health');
  const nonce = /nonce="([^"]+)"/.exec(prepared.headers['signature-input']!)![1]!;
  assert.ok(nonceBits(nonce) >= 128, `default nonce ${nonce}`);
});
