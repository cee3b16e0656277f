/**
 * Grants at HTTP level against a real internal port: a stranger's key (on
 * no allowlist) gets a role for a short time and loses it at expiry or
 * revocation without any reload; the role ceiling, the maximum duration,
 * the higher-role rule, persistence across a restart and the audit records
 * of every step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createInternalPort } from '../../src/server/index.js';
import { makeKey, SignedClient } from '../helpers/signed-client.js';
import { readAudit, startHarness, type Harness } from './fixtures/harness.js';

let h: Harness;
const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
const grantsFile = () => path.join(path.dirname(h.auditFile), 'grants.json');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  h = await startHarness({ flags, grants: { maxTtlSeconds: 3600 } });
});
after(() => h.close());

const setBeta = (c: SignedClient, value: boolean) => c.call('flags.set', { name: 'beta', value });
const grant = (c: SignedClient, body: Record<string, unknown>) => c.call('grants.create', body);

test('a grant lets a key on no allowlist in with its role, until it expires by itself', async () => {
  assert.equal((await setBeta(h.stranger, true)).json.code, 'auth.unknown_key');
  const r = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'operator', ttlSeconds: 2, reason: 'incident 42' });
  assert.equal(r.status, 201, r.text);
  const g = r.json.grant;
  assert.match(g.id, /^[A-Za-z0-9]{16}$/);
  assert.equal(g.keyid, h.keys.stranger.keyid);
  assert.equal(g.principal, 'mallory', 'the key comment names the principal');
  assert.equal(g.role, 'operator');
  assert.equal(g.grantedBy, 'alice-admin');
  assert.equal(g.state, 'active');
  const ttl = Date.parse(g.expiresAt) - Date.parse(g.createdAt);
  assert.equal(ttl, 2000);

  const during = await setBeta(h.stranger, true);
  assert.equal(during.status, 200, during.text);
  assert.equal((await h.stranger.call('audit.tail', {})).json.code, 'auth.forbidden', 'an operator grant is not admin');

  await sleep(Math.max(0, Date.parse(g.expiresAt) - Date.now()) + 50);
  const afterExpiry = await setBeta(h.stranger, false);
  assert.equal(afterExpiry.status, 401);
  assert.equal(afterExpiry.json.code, 'auth.unknown_key');

  const list = (await h.admin.call('grants.list')).json;
  assert.equal(list.maxTtlSeconds, 3600);
  assert.equal(list.grants.find((x: { id: string }) => x.id === g.id).state, 'expired', 'recently expired grants stay listed');

  // Audit: the creation, the request under the grant (with its id), the expiry.
  await sleep(100);
  const recs = readAudit(h.auditFile);
  const created = recs.find((x) => x.endpoint === 'grants.create' && x.outcome === 'ok' && (x.grant as { id?: string })?.id === g.id);
  assert.ok(created, 'a creation record names the grant');
  assert.deepEqual(created!.grant, { id: g.id, event: 'created', keyid: g.keyid, principal: 'mallory', role: 'operator', expiresAt: g.expiresAt });
  assert.equal(created!.principal, 'alice-admin');
  assert.equal(created!.reason, null, 'no Opsctl-Reason header was sent');
  assert.equal((created!.params as Record<string, unknown>).reason, 'incident 42');
  const under = recs.filter((x) => x.grantId === g.id && x.endpoint === 'flags.set');
  assert.deepEqual(under.map((x) => x.outcome), ['accepted', 'ok'], 'requests under the grant carry its id');
  assert.equal(under[1]!.principal, 'mallory');
  assert.equal(under[1]!.role, 'operator');
  const expired = recs.filter((x) => x.outcome === 'expired' && x.grantId === g.id);
  assert.equal(expired.length, 1, 'exactly one expiry record');
  assert.equal(expired[0]!.keyid, h.keys.stranger.keyid);
  assert.equal(expired[0]!.peer, null);
  const denied = recs.filter((x) => x.claimedKeyid === h.keys.stranger.keyid && x.outcome === 'denied' && x.code === 'auth.unknown_key');
  assert.ok(denied.length >= 2, 'before and after the grant the key is refused and that is audited');
  assert.equal((await h.admin.call('audit.verify')).json.ok, true);
});

test('the expiry record is written by the timer even when the key never comes back', async () => {
  const k = makeKey(h.dir, 'quiet-one');
  const r = await grant(h.admin, { publicKey: k.publicLine, role: 'viewer', ttlSeconds: 1, reason: 'look only' });
  assert.equal(r.status, 201);
  await sleep(1400);
  const expired = readAudit(h.auditFile).filter((x) => x.outcome === 'expired' && x.grantId === r.json.grant.id);
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.principal, 'quiet-one');
});

test('a revocation takes effect on the very next request', async () => {
  const r = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'deploy', principal: 'mallory (contractor)' });
  assert.equal(r.status, 201);
  const id = r.json.grant.id;
  assert.equal(r.json.grant.principal, 'mallory (contractor)');
  assert.equal((await setBeta(h.stranger, true)).status, 200);
  const del = await h.admin.call('grants.revoke', { id });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.revoked, true);
  assert.equal(del.json.grant.state, 'revoked');
  assert.equal(del.json.grant.revokedBy, 'alice-admin');
  assert.equal((await setBeta(h.stranger, false)).json.code, 'auth.unknown_key');
  const again = await h.admin.call('grants.revoke', { id });
  assert.equal(again.status, 200);
  assert.equal(again.json.revoked, false, 'revoking twice changes nothing');
  assert.equal((await h.admin.call('grants.revoke', { id: 'NoSuchGrant00000' })).status, 404);
  const recs = readAudit(h.auditFile).filter((x) => x.endpoint === 'grants.revoke' && x.outcome === 'ok');
  const revoked = recs.filter((x) => (x.grant as { event?: string } | undefined)?.event === 'revoked');
  assert.equal(revoked.length, 1, 'one revocation record, not one per DELETE');
  assert.equal((revoked[0]!.grant as { id: string }).id, id);
  await sleep(50);
  assert.equal(readAudit(h.auditFile).filter((x) => x.outcome === 'expired' && x.grantId === id).length, 0, 'a revoked grant does not also expire');
});

test('a key on the allowlist keeps the higher of its two roles', async () => {
  // viewer + operator grant → operator, under the grant
  const up = await grant(h.admin, { publicKey: h.keys.viewer.publicLine, role: 'operator', ttlSeconds: 60, reason: 'on call' });
  assert.equal(up.status, 201);
  assert.equal((await setBeta(h.viewer, true)).status, 200);
  const rec = readAudit(h.auditFile).filter((x) => x.endpoint === 'flags.set' && x.keyid === h.keys.viewer.keyid).at(-1)!;
  assert.equal(rec.grantId, up.json.grant.id);
  assert.equal(rec.principal, 'vera-viewer', 'the allowlist name stays');
  assert.equal(rec.role, 'operator');
  await h.admin.call('grants.revoke', { id: up.json.grant.id });
  assert.equal((await setBeta(h.viewer, true)).json.code, 'auth.forbidden', 'back to viewer');

  // operator + viewer grant → still operator, and not under the grant
  const down = await grant(h.admin, { publicKey: h.keys.operator.publicLine, role: 'viewer', ttlSeconds: 60, reason: 'pointless' });
  assert.equal(down.status, 201);
  assert.equal((await setBeta(h.operator, false)).status, 200);
  const rec2 = readAudit(h.auditFile).filter((x) => x.endpoint === 'flags.set' && x.keyid === h.keys.operator.keyid).at(-1)!;
  assert.equal(rec2.role, 'operator');
  assert.equal(rec2.grantId, undefined);
  await h.admin.call('grants.revoke', { id: down.json.grant.id });
});

test('refusals: above the maximum duration, bad keys, non-admins, granting oneself', async () => {
  const tooLong = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 3601, reason: 'x' });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.json.code, 'request.invalid');
  assert.equal(tooLong.json.field, 'ttlSeconds');
  assert.match(tooLong.json.detail, /maximum grant of 3600 s \(1h\)/);
  const bad = await grant(h.admin, { publicKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob', role: 'viewer', ttlSeconds: 60, reason: 'x' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, 'publicKey');
  const garbage = await grant(h.admin, { publicKey: 'not a key', role: 'viewer', ttlSeconds: 60, reason: 'x' });
  assert.equal(garbage.status, 400);
  const noReason = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 60 });
  assert.equal(noReason.status, 400);
  const zero = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 0, reason: 'x' });
  assert.equal(zero.status, 400);
  const byOperator = await grant(h.operator, { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 60, reason: 'x' });
  assert.equal(byOperator.status, 403);
  assert.equal((await h.viewer.call('grants.list')).status, 403);
  const self = await grant(h.admin, { publicKey: h.keys.admin.publicLine, role: 'admin', ttlSeconds: 60, reason: 'x' });
  assert.equal(self.status, 403);
  // Nothing of these became a grant; refused before the handler, none was even accepted.
  const list = (await h.admin.call('grants.list')).json.grants;
  assert.equal(list.filter((g: { state: string }) => g.state === 'active').length, 0);
  const accepted = readAudit(h.auditFile).filter((x) => x.endpoint === 'grants.create' && x.outcome === 'accepted' && (x.params as { ttlSeconds?: number }).ttlSeconds === 3601);
  assert.equal(accepted.length, 0, 'the duration is refused before the accepted record');
});

test('never above the granter: with operators allowed to grant, an operator cannot grant admin', async () => {
  const dir = fs.mkdtempSync(path.join(h.dir, 'ceiling-'));
  const port = await createInternalPort({
    service: { name: 'ceiling', version: '1' },
    authorizedKeysFile: h.allowlistFile,
    auditLogFile: path.join(dir, 'audit.jsonl'),
    grants: { granterRole: 'operator' },
    log: () => {},
  });
  try {
    const op = new SignedClient({ host: '127.0.0.1', port: port.port! }, h.keys.operator);
    const stranger = new SignedClient({ host: '127.0.0.1', port: port.port! }, h.keys.stranger);
    const admin = await op.call('grants.create', { publicKey: h.keys.stranger.publicLine, role: 'admin', ttlSeconds: 60, reason: 'x' });
    assert.equal(admin.status, 403);
    assert.equal(admin.json.code, 'auth.forbidden');
    assert.match(admin.json.detail, /needs role admin here; oscar-operator has operator/);
    const ok = await op.call('grants.create', { publicKey: h.keys.stranger.publicLine, role: 'operator', ttlSeconds: 60, reason: 'x' });
    assert.equal(ok.status, 201);
    // A grantee acting under an operator grant may grant too, but never beyond its own grant's end.
    const fresh = makeKey(dir, 'fresh');
    const longer = await stranger.call('grants.create', { publicKey: fresh.publicLine, role: 'viewer', ttlSeconds: 120, reason: 'x' });
    assert.equal(longer.status, 400);
    assert.match(longer.json.detail, /cannot last longer/);
    const shorter = await stranger.call('grants.create', { publicKey: fresh.publicLine, role: 'viewer', ttlSeconds: 30, reason: 'x' });
    assert.equal(shorter.status, 201);
    assert.equal(shorter.json.grant.grantedBy, 'mallory');
  } finally {
    await port.close();
  }
});

test('grants survive a restart (0600 file) and a corrupt grants file refuses the start', async () => {
  const r = await grant(h.admin, { publicKey: h.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'long fix' });
  assert.equal(r.status, 201);
  assert.equal(fs.statSync(grantsFile()).mode & 0o777, 0o600);
  await h.restart();
  assert.equal((await setBeta(h.stranger, true)).status, 200, 'the grant holds after a restart');
  const listed = (await h.admin.call('grants.list')).json.grants.find((g: { id: string }) => g.id === r.json.grant.id);
  assert.equal(listed.state, 'active');
  await h.admin.call('grants.revoke', { id: r.json.grant.id });
  await h.restart();
  assert.equal((await setBeta(h.stranger, true)).json.code, 'auth.unknown_key', 'and so does its revocation');

  const saved = fs.readFileSync(grantsFile(), 'utf8');
  await h.port.close();
  fs.writeFileSync(grantsFile(), '{"grants": [', { mode: 0o600 });
  await assert.rejects(h.restart(), /grants cannot be loaded: grant store .* is not valid JSON/);
  fs.writeFileSync(grantsFile(), saved, { mode: 0o600 });
  await h.restart();
});

test('a grant that expired while the service was down is recorded once at the next start', async () => {
  const k = makeKey(h.dir, 'while-down');
  const r = await grant(h.admin, { publicKey: k.publicLine, role: 'viewer', ttlSeconds: 1, reason: 'short' });
  await h.port.close();
  await sleep(1200);
  await h.restart();
  await h.restart();
  const expired = readAudit(h.auditFile).filter((x) => x.outcome === 'expired' && x.grantId === r.json.grant.id);
  assert.equal(expired.length, 1);
});

test('an access request is held, approved by an admin who is not the requester, and becomes a grant for the requesting key', async () => {
  const held = await h.viewer.call('grants.request', { role: 'operator', ttlSeconds: 120, reason: 'page 7: flip the kill switch' });
  assert.equal(held.status, 202, held.text);
  const a = held.json.approval;
  assert.equal(a.required, 1);
  assert.equal((await setBeta(h.viewer, true)).json.code, 'auth.forbidden', 'held: no grant yet');
  const shown = (await h.viewer.call('approvals.get', { id: a.id })).json;
  assert.equal(shown.endpoint, 'grants.request');
  assert.equal(shown.approverRole, 'admin');
  assert.equal(shown.requester.name, 'vera-viewer');

  const self = await h.viewer.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(self.json.code, 'approval.self');
  const operator = await h.operator.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(operator.status, 403, 'by default only an admin approves');
  const ok = await h.admin.call('approvals.approve', { id: a.id, digest: a.digest, reason: 'ok for 2 minutes' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.approval.state, 'executed');
  const g = ok.json.approval.result.body.grant;
  assert.equal(ok.json.approval.result.status, 201);
  assert.equal(g.keyid, h.keys.viewer.keyid);
  assert.equal(g.role, 'operator');
  assert.equal(g.grantedBy, 'alice-admin');
  assert.equal(g.approvalId, a.id);
  assert.equal(g.reason, 'page 7: flip the kill switch');
  assert.ok(Math.abs(Date.parse(g.expiresAt) - Date.now() - 120_000) < 5000, 'the time counts from the approval');
  assert.equal((await setBeta(h.viewer, true)).status, 200, 'the requester now acts as operator');

  const recs = readAudit(h.auditFile);
  assert.ok(recs.some((x) => x.endpoint === 'grants.request' && x.outcome === 'pending' && x.keyid === h.keys.viewer.keyid), 'the held request is audited as pending');
  const created = recs.find((x) => x.endpoint === 'grants.request' && x.outcome === 'ok' && (x.grant as { id?: string })?.id === g.id);
  assert.ok(created, 'the run of the approved request names the grant');
  assert.deepEqual((created!.approval as { approvers: string[] }).approvers, ['alice-admin']);
  assert.ok(recs.some((x) => x.grantId === g.id && x.endpoint === 'flags.set' && x.outcome === 'ok'), 'the requester acts under the new grant');
  await h.admin.call('grants.revoke', { id: g.id });
});

test('a rejected access request grants nothing; an admin role needs an admin approver; above the maximum is refused before it is held', async () => {
  const held = await h.viewer.call('grants.request', { role: 'admin', ttlSeconds: 60, reason: 'curious' });
  assert.equal(held.status, 202);
  const a = held.json.approval;
  const rej = await h.admin.call('approvals.reject', { id: a.id, reason: 'no' });
  assert.equal(rej.status, 200, rej.text);
  assert.equal(rej.json.approval.state, 'rejected');
  const after = await h.admin.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.notEqual(after.status, 200, 'a rejected request cannot be approved afterwards');
  assert.equal((await h.viewer.call('audit.tail', {})).json.code, 'auth.forbidden');
  const active = (await h.admin.call('grants.list')).json.grants.filter((g: { keyid: string; state: string }) => g.keyid === h.keys.viewer.keyid && g.state === 'active');
  assert.equal(active.length, 0);
  assert.ok(readAudit(h.auditFile).some((x) => x.outcome === 'rejected' && (x.approval as { id?: string } | undefined)?.id === a.id), 'the rejection is audited');

  const tooLong = await h.viewer.call('grants.request', { role: 'operator', ttlSeconds: 7200, reason: 'long' });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.json.field, 'ttlSeconds');
  assert.equal((await h.stranger.call('grants.request', { role: 'viewer', ttlSeconds: 60, reason: 'x' })).json.code, 'auth.unknown_key', 'an unknown key cannot even ask');
});

test('who approves access requests is the service\'s choice, but never below the role asked for', async () => {
  const dir = fs.mkdtempSync(path.join(h.dir, 'policy-'));
  const port = await createInternalPort({
    service: { name: 'policy', version: '1' },
    authorizedKeysFile: h.allowlistFile,
    auditLogFile: path.join(dir, 'audit.jsonl'),
    approvals: { endpoints: { 'grants.request': { count: 1, role: 'operator' } } },
    log: () => {},
  });
  try {
    const target = { host: '127.0.0.1', port: port.port! };
    const viewer = new SignedClient(target, h.keys.viewer);
    const operator = new SignedClient(target, h.keys.operator);
    const admin = new SignedClient(target, h.keys.admin);
    const asOp = (await viewer.call('grants.request', { role: 'operator', ttlSeconds: 60, reason: 'x' })).json.approval;
    assert.equal((await operator.call('approvals.approve', { id: asOp.id, digest: asOp.digest })).status, 200, 'an operator may approve operator access');
    const asAdmin = (await viewer.call('grants.request', { role: 'admin', ttlSeconds: 60, reason: 'x' })).json.approval;
    const denied = await operator.call('approvals.approve', { id: asAdmin.id, digest: asAdmin.digest });
    assert.equal(denied.status, 403, 'but not admin access');
    assert.equal((await admin.call('approvals.approve', { id: asAdmin.id, digest: asAdmin.digest })).status, 200);
  } finally {
    await port.close();
  }
});
