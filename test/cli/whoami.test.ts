/**
 * opsctl whoami against a real internal port: the principal, role and key id
 * the server resolved for each signing key, and a refused stranger (exit 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness } from '../helpers/cli-harness.js';

const h = fileHarness();

test('whoami: each key sees its own principal, role and key id as the server resolved them', async () => {
  const names = { viewer: 'vera', operator: 'oscar', admin: 'alice' } as const;
  for (const as of ['viewer', 'operator', 'admin'] as const) {
    const r = await h.run(['-o', 'json', 'whoami'], { as });
    assert.equal(r.code, 0, r.stderr);
    const me = r.json() as { principal: string; role: string; keyid: string; serverTime: string; service: string };
    assert.equal(me.role, as);
    assert.equal(me.keyid, h.keys[as].keyid);
    assert.equal(me.principal, names[as]);
    assert.equal(me.service, 'cli-test');
    assert.ok(Math.abs(Date.parse(me.serverTime) - Date.now()) < 5000);
    assert.equal(r.stderr, '');
  }
  const t = await h.run(['whoami'], { as: 'operator' });
  assert.equal(t.code, 0);
  assert.match(t.stdout, /^role\s+operator$/m);
  assert.match(t.stdout, /^key id\s+SHA256:/m);
});

test('whoami: a key the server does not know is refused with exit 3', async () => {
  const r = await h.run(['whoami'], { as: 'stranger' });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /auth\.unknown_key/);
});
