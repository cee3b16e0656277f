/**
 * Attack: one person supplies the second approval themselves. An admin
 * (alice) holds a request that needs another person's approval, then makes
 * the approval come from a key she controls: a grant for a second key of
 * hers named after a colleague, a grant made by such a grant, a colleague's
 * key lifted by her own grant, a grant-only key answering her access
 * request, two keys of one person under an N-of-M policy. Each must be
 * refused (409 grant.principal_taken, 403 approval.self) or count once; the
 * approvals list and the audit log name the approving key's grant and its
 * granter (src/server/README.md, "Approvals count persons").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { TaskDefinition } from '../../src/server/index.js';
import { SignedClient, makeKey, writeAllowlist, type TestKey } from '../helpers/signed-client.js';
import { readAudit, startHarness, tempDir, type Harness } from '../server/fixtures/harness.js';

const runs: string[] = [];
const tasks: TaskDefinition[] = [{
  name: 'purge', summary: 'Delete old rows', role: 'admin', destructive: false,
  params: { type: 'object', properties: { tag: { type: 'string' } }, additionalProperties: false },
  approval: { count: 2, role: 'admin' },
  async handler(params) { runs.push(String(params.tag)); return { purged: 1 }; },
}];

const keyDir = tempDir('opsctl-two-person-keys-');
// Allowlisted besides the harness's alice-admin, oscar-operator, vera-viewer:
const bob = makeKey(keyDir, 'bob-admin');
const carol = makeKey(keyDir, 'carol-admin');
const dave = makeKey(keyDir, 'dave-viewer');
// On no allowlist: keys alice generates for herself.
const aliceSpare = makeKey(keyDir, 'bob-admin');
const aliceSpare2 = makeKey(keyDir, 'spare-two');
const aliceSpare3 = makeKey(keyDir, 'spare-three');
const bobSpare = makeKey(keyDir, 'bob-helper');

let h: Harness;
const client = (k: TestKey) => new SignedClient({ host: '127.0.0.1', port: h.port.port! }, k);

before(async () => {
  h = await startHarness({
    tasks,
    flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'beta' }] },
    approvals: { endpoints: { 'flags.set': { count: 1, role: 'admin' } } },
  }, { keysDir: keyDir });
  writeAllowlist(h.allowlistFile, [[h.keys.admin, 'admin'], [h.keys.operator, 'operator'], [h.keys.viewer], [bob, 'admin'], [carol, 'admin'], [dave]]);
  const t = new Date(Date.now() + 2000);
  fs.utimesSync(h.allowlistFile, t, t);
});
after(() => h.close());

async function holdBeta(value: boolean, as = h.admin): Promise<{ id: string; digest: string }> {
  const r = await as.call('flags.set', { name: 'beta', value });
  assert.equal(r.status, 202, r.text);
  return r.json.approval;
}

async function grant(by: SignedClient, key: TestKey, role: string, extra: Record<string, unknown> = {}) {
  return by.call('grants.create', { publicKey: key.publicLine, role, ttlSeconds: 600, reason: 'spare key', ...extra });
}

test('a grant cannot carry a colleague\'s name, a look-alike of it, or another live grant\'s name', async () => {
  const named = await grant(h.admin, aliceSpare2, 'admin', { principal: 'bob-admin' });
  assert.equal(named.status, 409, named.text);
  assert.equal(named.json.code, 'grant.principal_taken');
  const lookAlike = await grant(h.admin, aliceSpare2, 'admin', { principal: ' Bob-Admin ' });
  assert.equal(lookAlike.json.code, 'grant.principal_taken', 'compared as a person reads it');
  // Drawn the same in a terminal: a Cyrillic а and о, a Greek ο, a capital I and a digit 1 for l.
  for (const spoof of ['bоb-аdmin', 'bοb-admin', 'BOB-ADMIN', 'b0b-admin', 'aIice-admin', 'a1ice-admin']) {
    const r = await grant(h.admin, aliceSpare2, 'admin', { principal: spoof });
    assert.equal(r.json.code, 'grant.principal_taken', `${JSON.stringify(spoof)} passes for an allowlisted name`);
  }
  const byComment = await grant(h.admin, aliceSpare, 'admin');
  assert.equal(byComment.json.code, 'grant.principal_taken', 'the key comment is a name too');
  const first = await grant(h.admin, aliceSpare2, 'viewer', { principal: 'temp-helper' });
  assert.equal(first.status, 201, first.text);
  const second = await grant(h.admin, aliceSpare3, 'viewer', { principal: 'Temp-Helper' });
  assert.equal(second.json.code, 'grant.principal_taken', 'another live grant has that name');
  const onAllowlisted = await grant(h.admin, dave, 'admin', { principal: 'someone-else' });
  assert.equal(onAllowlisted.json.code, 'grant.principal_taken', 'an allowlisted key keeps its own name');
  assert.equal((await h.admin.call('grants.revoke', { id: first.json.grant.id })).status, 200);
  assert.equal(runs.length, 0);
});

test('a grant-only key acts for whoever created it: it cannot approve its creator\'s request, even through a chain of grants', async () => {
  const a = await holdBeta(true);
  const g1 = await grant(h.admin, aliceSpare2, 'admin', { principal: 'spare-one' });
  assert.equal(g1.status, 201, g1.text);
  assert.equal(g1.json.grant.actsFor, 'alice-admin');
  const spare = client(aliceSpare2);
  const direct = await spare.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(direct.status, 403, direct.text);
  assert.equal(direct.json.code, 'approval.self');

  // A grant made by that grant: still alice.
  const g2 = await grant(spare, aliceSpare3, 'admin', { principal: 'spare-two', ttlSeconds: 300 });
  assert.equal(g2.status, 201, g2.text);
  assert.deepEqual(g2.json.grant.parentGrants, [g1.json.grant.id]);
  const chained = await client(aliceSpare3).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(chained.json.code, 'approval.self', chained.text);

  // The approvals list still waits for a second person.
  const view = (await h.viewer.call('approvals.get', { id: a.id })).json;
  assert.equal(view.state, 'pending');
  assert.equal(view.approvers.length, 0);
  await h.admin.call('grants.revoke', { id: g1.json.grant.id });
  await h.admin.call('approvals.reject', { id: a.id });
});

test('a colleague\'s own key lifted by the requester\'s grant does not approve for her', async () => {
  const a = await holdBeta(false);
  const lift = await grant(h.admin, dave, 'admin');
  assert.equal(lift.status, 201, lift.text);
  const r = await client(dave).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.code, 'approval.self', 'the approving authority comes from the requester');
  // A key bob holds, but alice created: acts for alice.
  const forBob = await grant(h.admin, bobSpare, 'admin');
  assert.equal(forBob.status, 201, forBob.text);
  assert.equal((await client(bobSpare).call('approvals.approve', { id: a.id, digest: a.digest })).json.code, 'approval.self');
  await h.admin.call('grants.revoke', { id: lift.json.grant.id });
  await h.admin.call('grants.revoke', { id: forBob.json.grant.id });
  await h.admin.call('approvals.reject', { id: a.id });
});

test('N of M: two keys of one person count once, and a second person completes it; list and audit name grant and granter', async () => {
  const held = await h.admin.call('tasks.run', { name: 'purge', params: { tag: 'nm' } });
  assert.equal(held.status, 202, held.text);
  const a = held.json.approval;
  assert.equal(a.required, 2);
  // bob approves; then bob's own grant-only key, and dave lifted by bob's grant.
  const g = await grant(client(bob), bobSpare, 'admin', { principal: 'bob-helper' });
  assert.equal(g.status, 201, g.text);
  const lift = await grant(client(bob), dave, 'admin');
  assert.equal(lift.status, 201, lift.text);
  const first = await client(bob).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.counted, true);
  const again = await client(bobSpare).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.counted, false, 'bob\'s grant-only key is bob again');
  const lifted = await client(dave).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(lifted.json.counted, false, 'authority from bob is bob again');
  assert.deepEqual(runs, [], 'one person is not two');
  const second = await client(carol).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.json.approval.state, 'executed');
  assert.deepEqual(runs, ['nm']);

  await h.admin.call('grants.revoke', { id: lift.json.grant.id });
  // An approval under a grant names the grant and its granter.
  const b = await holdBeta(true);
  const viaGrant = await client(bobSpare).call('approvals.approve', { id: b.id, digest: b.digest });
  assert.equal(viaGrant.status, 200, viaGrant.text);
  const shown = (await h.viewer.call('approvals.get', { id: b.id })).json;
  assert.equal(shown.state, 'executed');
  assert.equal(shown.approvers[0].name, 'bob-helper');
  assert.equal(shown.approvers[0].person, 'bob-admin');
  assert.equal(shown.approvers[0].grantId, g.json.grant.id);
  assert.equal(shown.approvers[0].grantedBy, 'bob-admin');
  const rec = readAudit(h.auditFile).find((x) => x.outcome === 'approved' && (x.approval as { id: string }).id === b.id)!;
  assert.equal(rec.grantId, g.json.grant.id);
  const by = (rec.approval as { approvedBy: Array<Record<string, unknown>> }).approvedBy[0]!;
  assert.deepEqual(by, { name: 'bob-helper', keyid: bobSpare.keyid, person: 'bob-admin', grantId: g.json.grant.id, grantedBy: 'bob-admin' });
  await h.admin.call('grants.revoke', { id: g.json.grant.id });
});

test('access requests: the same rule, both for approving one and for the authority it gives', async () => {
  const g = await grant(h.admin, aliceSpare2, 'admin', { principal: 'spare-again' });
  assert.equal(g.status, 201, g.text);
  const spare = client(aliceSpare2);
  // The spare key asks for more; alice cannot approve what her own key asks.
  const own = await spare.call('grants.request', { role: 'admin', ttlSeconds: 60, reason: 'longer' });
  assert.equal(own.status, 202, own.text);
  const byAlice = await h.admin.call('approvals.approve', { id: own.json.approval.id, digest: own.json.approval.digest });
  assert.equal(byAlice.json.code, 'approval.self', 'the spare key asked for alice');
  await h.admin.call('approvals.reject', { id: own.json.approval.id });

  // dave asks for admin and alice approves: dave's admin authority comes
  // from alice, so it does not approve alice's held request.
  const ask = (await client(dave).call('grants.request', { role: 'admin', ttlSeconds: 120, reason: 'on call' })).json.approval;
  const approved = await h.admin.call('approvals.approve', { id: ask.id, digest: ask.digest });
  assert.equal(approved.status, 200, approved.text);
  const daveGrant = approved.json.approval.result.body.grant;
  assert.deepEqual(daveGrant.derivedFrom, ['alice-admin']);
  const a = await holdBeta(true);
  const byDave = await client(dave).call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(byDave.json.code, 'approval.self', byDave.text);
  await h.admin.call('grants.revoke', { id: daveGrant.id });
  await h.admin.call('approvals.reject', { id: a.id });

  // Approved by alice's spare key instead: the same, and the grant ends with the spare key's.
  const ask2 = (await client(dave).call('grants.request', { role: 'admin', ttlSeconds: 120, reason: 'again' })).json.approval;
  const ok = await spare.call('approvals.approve', { id: ask2.id, digest: ask2.digest });
  assert.equal(ok.status, 200, ok.text);
  const daveGrant2 = ok.json.approval.result.body.grant;
  assert.deepEqual(daveGrant2.derivedFrom, ['alice-admin']);
  assert.deepEqual(daveGrant2.parentGrants, [g.json.grant.id]);
  await h.admin.call('grants.revoke', { id: g.json.grant.id });
  const list = (await h.admin.call('grants.list')).json.grants as Array<{ id: string; state: string; endedWith?: string }>;
  assert.equal(list.find((x) => x.id === daveGrant2.id)?.state, 'revoked', 'ended with the grant it was approved under');
  assert.equal((await client(dave).call('audit.tail', {})).json.code, 'auth.forbidden', 'dave is a viewer again');
  assert.deepEqual(runs, ['nm'], 'nothing alice held ran without a second person');
});
