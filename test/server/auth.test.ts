import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SignedClient, allowlistLine, hasSshKeygen, makeKey } from '../helpers/signed-client.js';
import { readAudit, startHarness, type Harness } from './fixtures/harness.js';

let h: Harness;
const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };

before(async () => {
  h = await startHarness({ flags });
});
after(() => h.close());

const setBeta = (c: SignedClient, opts = {}) => c.call('flags.set', { name: 'beta', value: true }, opts);
async function betaValue(): Promise<boolean> {
  return (await h.viewer.call('flags.get', { name: 'beta' })).json.value;
}

test('keys come from OpenSSH ssh-keygen and keyid is what ssh-keygen -lf prints', { skip: !hasSshKeygen() && process.env.CI !== 'true' ? 'ssh-keygen not installed' : false }, () => {
  assert.equal(h.keys.admin.origin, 'ssh-keygen');
  const tmp = `${h.dir}/admin.pub`;
  fs.writeFileSync(tmp, h.keys.admin.publicLine + '\n');
  const out = spawnSync('ssh-keygen', ['-lf', tmp], { encoding: 'utf8' }).stdout;
  assert.equal(out.split(' ')[1], h.keys.admin.keyid);
});

test('every bad request gets 401 with the right code and runs nothing', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<{ status: number; json: { code: string } }>, string]> = [
    ['unsigned', () => setBeta(h.operator, { unsigned: true }), 'auth.missing'],
    ['unknown key', () => setBeta(h.stranger), 'auth.unknown_key'],
    ['claims an allowed keyid, signed by another key', () => setBeta(h.stranger, { keyid: h.keys.operator.keyid }), 'auth.bad_signature'],
    ['tampered method', () => setBeta(h.operator, { tamper: 'method' }), 'auth.bad_signature'],
    ['tampered path', () => h.operator.send('PUT', '/v1/flags/beta', { body: { value: true }, tamper: (r) => { r.path = '/v1/flags/Beta'; } }), 'auth.bad_signature'],
    ['tampered query', () => setBeta(h.operator, { tamper: 'query' }), 'auth.bad_signature'],
    ['tampered body (digest kept)', () => setBeta(h.operator, { tamper: 'body' }), 'auth.bad_signature'],
    ['tampered body and digest', () => setBeta(h.operator, { tamper: 'digest-and-body' }), 'auth.bad_signature'],
    ['tampered signature', () => setBeta(h.operator, { tamper: 'signature' }), 'auth.bad_signature'],
    ['stale (created 2 min ago)', () => setBeta(h.operator, { created: now - 120 }), 'auth.expired'],
    ['future (created in 2 min)', () => setBeta(h.operator, { created: now + 120 }), 'auth.expired'],
    ['content-digest not covered', () => setBeta(h.operator, { components: ['@method', '@path', '@query'] }), 'auth.bad_signature'],
    ['@query not covered', () => setBeta(h.operator, { components: ['@method', '@path', 'content-digest'] }), 'auth.bad_signature'],
    ['reason header not covered', () => setBeta(h.operator, { headers: { 'opsctl-reason': 'because' }, components: ['@method', '@path', '@query', 'content-digest'] }), 'auth.bad_signature'],
    ['short nonce', () => setBeta(h.operator, { nonce: 'abc' }), 'auth.bad_signature'],
  ];
  for (const [name, run, code] of cases) {
    const r = await run();
    assert.equal(r.status, 401, `${name}: status`);
    assert.equal(r.json.code, code, `${name}: code`);
  }
  assert.equal(await betaValue(), false, 'no bad request changed the flag');
});

test('a replayed request is refused with auth.replay and does not run twice', async () => {
  const prepared = await h.operator.prepare('PUT', '/v1/flags/beta', { body: { value: true } });
  const first = await h.operator.sendPrepared(prepared);
  assert.equal(first.status, 200);
  await h.admin.call('flags.set', { name: 'beta', value: false });
  const again = await h.operator.sendPrepared(prepared);
  assert.equal(again.status, 401);
  assert.equal(again.json.code, 'auth.replay');
  assert.equal(await betaValue(), false);
});

test('the signature may list its components in any order', async () => {
  const r = await h.operator.call('flags.set', { name: 'beta', value: false }, { components: ['content-digest', '@query', '@path', '@method'] });
  assert.equal(r.status, 200);
});

test('roles: viewer reads only, operator changes runtime state, admin the rest → 403 auth.forbidden', async () => {
  const denied: Array<[SignedClient, string, Record<string, unknown>]> = [
    [h.viewer, 'flags.set', { name: 'beta', value: true }],
    [h.viewer, 'jobs.cancel', { id: 'nope' }],
    [h.operator, 'audit.tail', {}],
    [h.operator, 'audit.verify', {}],
  ];
  for (const [client, id, params] of denied) {
    const r = await client.call(id, params);
    assert.equal(r.status, 403, `${client.key.name} ${id}`);
    assert.equal(r.json.code, 'auth.forbidden');
  }
  assert.equal(await betaValue(), false);
  assert.equal((await h.viewer.call('flags.list')).status, 200);
  assert.equal((await h.admin.call('audit.verify')).status, 200);
});

test('denied requests are in the audit log with the keyid presented, even an unknown one', async () => {
  await setBeta(h.stranger);
  const records = readAudit(h.auditFile);
  // Nothing vouches for an unknown key: its id is recorded as claimedKeyid, never as keyid.
  const stranger = records.filter((r) => r.claimedKeyid === h.keys.stranger.keyid);
  assert.ok(stranger.length >= 1, 'the unknown key is recorded as claimedKeyid');
  assert.ok(stranger.every((r) => r.keyid === null), 'an unverified key id is never recorded as keyid');
  assert.equal(stranger.at(-1)!.outcome, 'denied');
  assert.equal(stranger.at(-1)!.code, 'auth.unknown_key');
  assert.equal(stranger.at(-1)!.status, 401);
  const forbidden = records.find((r) => r.code === 'auth.forbidden' && r.principal === 'vera-viewer');
  assert.ok(forbidden, 'the viewer\'s 403 is recorded with the principal');
});

test('the allowlist is reloaded when it changes: a key added works, a key removed stops working', async () => {
  const original = fs.readFileSync(h.allowlistFile, 'utf8');
  assert.equal((await h.stranger.call('health')).status, 401);
  fs.appendFileSync(h.allowlistFile, allowlistLine(h.keys.stranger, 'operator') + '\n');
  const ok = await h.stranger.call('health');
  assert.equal(ok.status, 200);
  // Atomic replace (how editors and config management write files).
  fs.writeFileSync(`${h.allowlistFile}.new`, original);
  fs.renameSync(`${h.allowlistFile}.new`, h.allowlistFile);
  const gone = await h.stranger.call('health');
  assert.equal(gone.status, 401);
  assert.equal(gone.json.code, 'auth.unknown_key');
});

test('malformed allowlist lines are reported and skipped, never widened', async () => {
  const eve = makeKey(h.dir, 'eve');
  const frank = makeKey(h.dir, 'frank');
  const gina = makeKey(h.dir, 'gina');
  const original = fs.readFileSync(h.allowlistFile, 'utf8');
  const lines = [
    original.trim(),
    'this is not a key',
    `role="root" ${eve.publicLine}`,
    `from="10.0.0.1",role="admin" ${frank.publicLine}`,
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 rsa-user',
    `role="admin" ${gina.publicLine.replace(/AAAA(\S{10})/, 'AAAA!!!!')}`,
    `# a comment`,
    `no-pty,role="operator" ${gina.publicLine}`,
  ];
  fs.writeFileSync(h.allowlistFile, lines.join('\n') + '\n');
  try {
    const target = h.viewer.target;
    assert.equal((await new SignedClient(target, eve).call('health')).status, 401, 'unknown role → line skipped');
    assert.equal((await new SignedClient(target, frank).call('health')).status, 401, 'unenforceable from= → line skipped');
    const g = new SignedClient(target, gina);
    assert.equal((await g.call('health')).status, 200, 'a good line after bad ones still works');
    assert.equal((await g.call('audit.tail')).status, 403, 'gina is operator, not admin');
    assert.equal((await h.admin.call('health')).status, 200, 'existing keys keep working');
    const warnings = h.logs.filter((l) => l.startsWith('warn') && l.includes('skipped'));
    const first = original.trim().split('\n').length + 1;
    for (const n of [first, first + 1, first + 2, first + 3, first + 4]) assert.ok(warnings.some((w) => w.includes(`line ${n} skipped`)), `line ${n} reported`);
    assert.ok(!h.logs.some((l) => l.includes(gina.publicLine.split(' ')[1]!)), 'key material is not logged');
  } finally {
    fs.writeFileSync(h.allowlistFile, original);
  }
});
