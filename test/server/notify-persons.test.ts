/**
 * Where event notifications meet persons, grant lineage, idempotent retries
 * and restarts (docs/notifications.md; src/server/README.md, "Approvals and
 * dry-run" and "Approvals count persons"), every delivery verified by a
 * real receiver with the `standardwebhooks` library:
 * - an approval that expires, or an approved request whose run was never
 *   recorded, while the port is down gets its approval.decided after the
 *   restart, once; a grant that expired meanwhile its grant.ended;
 * - an approval that stops counting because its grant ended wakes a
 *   long-poll at once (approvals.get and approvals.list);
 * - revoking a grant tells one grant.ended per grant made under it, each
 *   naming the grant it ended with;
 * - approval.approved names the grant an approver acts under and its granter;
 * - a retried held request (same Idempotency-Key and body) is announced once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from './fixtures/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { SignedClient, makeKey, type TestKey } from '../helpers/signed-client.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';
import type { NotificationsOptions, TaskDefinition } from '../../src/server/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const task = (name: string, count: number): TaskDefinition => ({
  name,
  summary: `held for ${count} admin approval(s)`,
  role: 'operator',
  destructive: false,
  params: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
  approval: { count, role: 'admin' },
  handler: async () => ({ done: true }),
});

let h: Harness;
let rx: Receiver;
let secretDir: string;
let notifications: NotificationsOptions;
const keys: Record<string, TestKey> = {};
let barrierN = 0;

before(async () => {
  const secret = newWebhookSecret();
  rx = await startReceiver({ secret });
  secretDir = fs.mkdtempSync('/tmp/notify-persons-');
  const secretFile = path.join(secretDir, 'whsec');
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  for (const n of ['dan', 'erin', 'fay', 'gus', 'hal']) keys[n] = makeKey(secretDir, n);
  notifications = {
    endpoints: [{ url: rx.url, name: 'rx' }],
    secretFile,
    retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.2, giveUpAfterSeconds: 30 },
  };
  h = await startHarness({ tasks: [task('once', 1), task('twice', 2)], notifications });
  rx.trust((await h.viewer.call('notify.status')).json.publicKey);
});
after(async () => {
  await h?.close();
  await rx?.close();
  fs.rmSync(secretDir, { recursive: true, force: true });
});

const as = (k: TestKey) => new SignedClient({ host: '127.0.0.1', port: h.port.port! }, k);
const of = (type: string, pred: (d: Record<string, any>) => boolean = () => true) => rx.events().filter((e) => e.type === type && pred(e.data));
/** Every event before this call has been delivered: a fresh grant.created arrives after them (204 at once, in order of queueing). */
async function settle(): Promise<void> {
  const g = await h.admin.call('grants.create', { publicKey: keys.hal!.publicLine, role: 'viewer', ttlSeconds: 60, principal: `barrier-${++barrierN}`, reason: 'barrier' });
  assert.equal(g.status, 201, g.text);
  await rx.waitFor((e) => e.some((x) => x.type === 'grant.created' && x.data.grantId === g.json.grant.id), 15_000, 'the barrier event');
  await sleep(300);
}
async function grant(by: SignedClient, k: TestKey, role: string, principal: string, ttlSeconds = 600): Promise<string> {
  const r = await by.call('grants.create', { publicKey: k.publicLine, role, ttlSeconds, principal, reason: 'seams' });
  assert.equal(r.status, 201, r.text);
  return r.json.grant.id as string;
}
async function approve(by: SignedClient, id: string) {
  const digest = (await by.call('approvals.get', { id })).json.digest as string;
  return by.call('approvals.approve', { id, digest });
}

test('approval.approved names the grant the approver acts under and its granter; the person it counts as', async () => {
  const g = await grant(h.admin, keys.dan!, 'admin', 'dan');
  const held = await h.operator.call('tasks.run', { name: 'once', params: {} });
  assert.equal(held.status, 202, held.text);
  const id = held.json.approval.id as string;
  const ok = await approve(as(keys.dan!), id);
  assert.equal(ok.status, 200, ok.text);
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.approved' && x.data.approvalId === id), 10_000, 'approval.approved');
  const d = of('approval.approved', (x) => x.approvalId === id)[0]!.data;
  assert.equal(d.approver, 'dan');
  assert.equal(d.approverGrantId, g);
  assert.equal(d.approverGrantedBy, 'alice-admin');
  assert.equal(d.approverPerson, 'alice-admin', 'a grant-only key acts for whoever created its grant');
  // An allowlisted approver acts under no grant: no grant fields.
  const held2 = await h.operator.call('tasks.run', { name: 'once', params: { n: 2 } });
  const id2 = held2.json.approval.id as string;
  assert.equal((await approve(h.admin, id2)).status, 200);
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.approved' && x.data.approvalId === id2), 10_000, 'approval.approved by alice');
  const d2 = of('approval.approved', (x) => x.approvalId === id2)[0]!.data;
  assert.equal(d2.approverPerson, 'alice-admin');
  assert.equal('approverGrantId' in d2, false);
  await h.admin.call('grants.revoke', { id: g });
});

test('an approval that stops counting (its grant was revoked) wakes a long-poll on the approval and on the list at once', async () => {
  const g = await grant(h.admin, keys.erin!, 'admin', 'erin');
  const held = await h.operator.call('tasks.run', { name: 'twice', params: {} });
  assert.equal(held.status, 202, held.text);
  const id = held.json.approval.id as string;
  const one = await approve(as(keys.erin!), id);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.approval.approvers.length, 1, '1 of 2');
  const cursor = (await h.viewer.call('approvals.list')).json.cursor as string;

  const t0 = Date.now();
  const onOne = h.viewer.call('approvals.get', { id, wait: 20 });
  const onList = h.viewer.call('approvals.list', { wait: 20, since: cursor });
  await sleep(300);
  assert.equal((await h.admin.call('grants.revoke', { id: g })).status, 200);
  const [a, l] = await Promise.all([onOne, onList]);
  const waited = Date.now() - t0;
  assert.ok(waited < 10_000, `the waits were answered at the change, not after 20 s (${waited} ms)`);
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json.approvers, [], 'erin\'s approval no longer counts');
  assert.deepEqual(a.json.voided.map((v: { name: string }) => v.name), ['erin']);
  assert.notEqual(l.json.cursor, cursor);
  assert.deepEqual(l.json.approvals.find((x: { id: string }) => x.id === id).voided.map((v: { name: string }) => v.name), ['erin']);
  // Saved, not only in memory: a restart still shows it voided.
  await h.restart();
  const after = (await h.viewer.call('approvals.get', { id })).json;
  assert.deepEqual([after.state, after.approvers.length, after.voided.length], ['pending', 0, 1]);
  await h.admin.call('approvals.reject', { id, reason: 'done with it' });
});

test('revoking a grant: one grant.ended per grant made under it (recursively), each naming the grant it ended with', async () => {
  const root = await grant(h.admin, keys.fay!, 'admin', 'fay');
  const child = await grant(as(keys.fay!), keys.gus!, 'admin', 'gus', 300);
  const grandchild = await grant(as(keys.gus!), keys.hal!, 'viewer', 'hal', 200);
  const sibling = await grant(as(keys.fay!), keys.dan!, 'operator', 'dan-2', 300);
  const r = await h.admin.call('grants.revoke', { id: root }, { headers: { 'opsctl-reason': 'offboarding' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.ended.map((g: { id: string }) => g.id).sort(), [child, grandchild, sibling].sort());
  const ids = [root, child, grandchild, sibling];
  await rx.waitFor((e) => ids.every((id) => e.some((x) => x.type === 'grant.ended' && x.data.grantId === id)), 10_000, 'four grant.ended');
  await settle();
  for (const id of ids) {
    const ended = of('grant.ended', (d) => d.grantId === id);
    assert.equal(new Set(ended.map((e) => e.id)).size, 1, `${id}: one event`);
    assert.equal(ended.length, 1, `${id}: delivered once`);
  }
  const data = (id: string) => of('grant.ended', (d) => d.grantId === id)[0]!.data;
  assert.equal('endedWith' in data(root), false, 'the revoked grant itself ended with nothing');
  assert.equal(data(child).endedWith, root);
  assert.equal(data(sibling).endedWith, root);
  assert.equal(data(grandchild).endedWith, child, 'named by the grant it was made under');
  for (const id of ids) {
    assert.equal(data(id).outcome, 'revoked');
    assert.equal(data(id).revokedBy, 'alice-admin');
  }
  assert.deepEqual(rx.deliveries.filter((d) => d.rejected).map((d) => d.rejected), [], 'every delivery verifies');
});

test('a retried held request (same Idempotency-Key and body) is announced once: while pending, after a restart, after it ran', async () => {
  const headers = { 'idempotency-key': 'retry-seam-1' };
  const first = await h.operator.call('tasks.run', { name: 'once', params: { n: 7 } }, { headers });
  assert.equal(first.status, 202, first.text);
  const id = first.json.approval.id as string;
  const again = await h.operator.call('tasks.run', { name: 'once', params: { n: 7 } }, { headers });
  assert.equal(again.status, 202, again.text);
  assert.equal(again.headers['idempotency-replayed'], 'true');
  assert.equal(again.json.approval.id, id);
  // Delivered (and recorded as delivered) before the restart: an attempt cut by a
  // stop is sent again after it under the same id, which is at-least-once, not a second event.
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.requested' && x.data.approvalId === id), 10_000, 'approval.requested');
  await settle();
  await h.restart();
  const afterRestart = await h.operator.call('tasks.run', { name: 'once', params: { n: 7 } }, { headers });
  assert.equal(afterRestart.json.approval.id, id);
  assert.equal((await approve(h.admin, id)).status, 200);
  const afterRun = await h.operator.call('tasks.run', { name: 'once', params: { n: 7 } }, { headers });
  assert.equal(afterRun.status, 202, afterRun.text);
  assert.equal(afterRun.json.approval.state, 'executed');
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.decided' && x.data.approvalId === id), 10_000, 'approval.decided');
  await settle();
  const requested = of('approval.requested', (d) => d.approvalId === id);
  assert.equal(new Set(requested.map((e) => e.id)).size, 1, 'one approval.requested event');
  assert.equal(requested.length, 1, 'delivered once');
  assert.equal(of('approval.approved', (d) => d.approvalId === id).length, 1, 'one approval.approved');
  assert.equal(of('approval.decided', (d) => d.approvalId === id).length, 1, 'one approval.decided');
  assert.equal(of('approval.requested').filter((e) => e.data.params?.params?.n === 7).length, 1, 'and no other approval was made for it');
});

test('what happened while the port was down is told after the restart, once: expired and approved-but-not-run approvals, an expired grant', async () => {
  await h.restart({ approvals: { expirySeconds: 2 } });
  const expiring = (await h.operator.call('tasks.run', { name: 'twice', params: { n: 1 } })).json.approval.id as string;
  const approved = (await h.operator.call('tasks.run', { name: 'twice', params: { n: 2 } })).json.approval.id as string;
  const g = await grant(h.admin, keys.gus!, 'viewer', 'gus-short', 2);
  await rx.waitFor((e) => e.some((x) => x.type === 'grant.created' && x.data.grantId === g) && e.some((x) => x.type === 'approval.requested' && x.data.approvalId === approved), 10_000, 'the events before the stop');
  await h.port.close();
  // While it is down: the first approval's time passes, the grant's too, and the
  // second approval is found approved but not run (the process stopped between the two).
  const file = path.join(path.dirname(h.auditFile), 'approvals.json');
  const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  const rec = stored.approvals.find((a: { id: string }) => a.id === approved);
  rec.state = 'approved';
  rec.expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  fs.writeFileSync(file, JSON.stringify(stored));
  await sleep(2_500);
  await h.restart({ approvals: { expirySeconds: 60 } });
  await rx.waitFor((e) => [expiring, approved].every((id) => e.some((x) => x.type === 'approval.decided' && x.data.approvalId === id))
    && e.some((x) => x.type === 'grant.ended' && x.data.grantId === g), 15_000, 'the decisions and the end made while down');
  assert.equal(of('approval.decided', (d) => d.approvalId === expiring)[0]!.data.outcome, 'expired');
  assert.equal(of('approval.decided', (d) => d.approvalId === approved)[0]!.data.outcome, 'failed');
  assert.equal(of('grant.ended', (d) => d.grantId === g)[0]!.data.outcome, 'expired');
  // Another restart (once those are delivered) tells none of it again.
  await settle();
  await h.restart();
  await settle();
  for (const id of [expiring, approved]) {
    const decided = of('approval.decided', (d) => d.approvalId === id);
    assert.equal(decided.length, 1, `${id}: told once`);
  }
  assert.equal(of('grant.ended', (d) => d.grantId === g).length, 1);
});
