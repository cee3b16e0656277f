/**
 * Approvals, break-glass and dry-run at the HTTP level: a real internal port,
 * real signed requests from several real keys, a real SQLite migration
 * database, the real audit log and approvals file on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { InternalPortOptions, TaskDefinition } from '../../src/server/index.js';
import { SignedClient, makeKey, waitForJob, writeAllowlist, type TestKey } from '../helpers/signed-client.js';
import { sqliteMigrations, type MigrationFixture } from '../helpers/sqlite-migrations.js';
import { readAudit, startHarness, tempDir, type Harness } from './fixtures/harness.js';

const runs: Array<Record<string, unknown>> = [];
const tasks: TaskDefinition[] = [
  {
    name: 'purge', summary: 'Delete old rows', role: 'operator', destructive: true,
    params: { type: 'object', properties: { days: { type: 'integer', minimum: 1 } }, required: ['days'], additionalProperties: false },
    approval: { count: 1, role: 'admin', breakGlass: true },
    async handler(params, ctx) { runs.push({ ...params, by: ctx.principal.name }); return { purged: 3 }; },
    dryRun(params) { return { wouldPurge: 3, olderThanDays: params.days }; },
  },
  {
    name: 'noop', summary: 'Nothing', role: 'operator', destructive: false,
    params: { type: 'object', additionalProperties: false },
    async handler() { return null; },
  },
];

interface Stack {
  h: Harness;
  fx: MigrationFixture;
  bob: SignedClient;
  carol: SignedClient;
  /** alice-admin's second key: same principal name, other key. */
  alice2: SignedClient;
  /** "Alice-Admin " on a third key: a look-alike name. */
  aliceLike: SignedClient;
  keys: Record<string, TestKey>;
  writeKeys(roles?: Partial<Record<string, 'viewer' | 'operator' | 'admin' | null>>): void;
}

const keyDir = tempDir('opsctl-approvals-keys-');
const extraKeys = {
  bob: makeKey(keyDir, 'bob-admin'),
  carol: makeKey(keyDir, 'carol-operator'),
  alice2: makeKey(keyDir, 'alice-admin'),
  aliceLike: makeKey(keyDir, 'Alice-Admin'),
};

async function withStack(extra: Partial<InternalPortOptions>, fn: (s: Stack) => Promise<void>): Promise<void> {
  const dbDir = tempDir('opsctl-approvals-db-');
  const fx = sqliteMigrations(path.join(dbDir, 'app.db'));
  const h = await startHarness({
    migrations: fx.options,
    tasks,
    flags: { definitions: [{ name: 'checkout.v2', type: 'boolean', default: false, description: 'new checkout' }] },
    approvals: { endpoints: { 'migrations.down': { count: 1, breakGlass: true }, 'flags.set': { count: 2, role: 'operator' } }, ...(extra.approvals ?? {}) },
    ...extra,
  }, { keysDir: keyDir });
  const target = { host: '127.0.0.1', port: h.port.port! };
  const writeKeys = (roles: Partial<Record<string, 'viewer' | 'operator' | 'admin' | null>> = {}) => {
    const want: Array<[TestKey, 'viewer' | 'operator' | 'admin' | undefined]> = [
      [h.keys.admin, 'admin'], [h.keys.operator, 'operator'], [h.keys.viewer, undefined],
      [extraKeys.bob, 'admin'], [extraKeys.carol, 'operator'], [extraKeys.alice2, 'admin'], [extraKeys.aliceLike, 'admin'],
    ];
    const lines = want
      .filter(([k]) => roles[k.name === 'alice-admin' && k === extraKeys.alice2 ? 'alice2' : k.name] !== null)
      .map(([k, r]) => [k, (roles[k.name] ?? r) as 'viewer' | 'operator' | 'admin' | undefined] as [TestKey, 'viewer' | 'operator' | 'admin' | undefined]);
    writeAllowlist(h.allowlistFile, lines);
    // The allowlist reloads on change (mtime): make sure the change is seen.
    const t = new Date(Date.now() + 2000);
    fs.utimesSync(h.allowlistFile, t, t);
  };
  writeKeys();
  const s: Stack = {
    h, fx, keys: extraKeys, writeKeys,
    bob: new SignedClient(target, extraKeys.bob),
    carol: new SignedClient(target, extraKeys.carol),
    alice2: new SignedClient(target, extraKeys.alice2),
    aliceLike: new SignedClient(target, extraKeys.aliceLike),
  };
  try {
    await fn(s);
  } finally {
    await h.close();
    fx.close();
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

function refresh(s: Stack): void {
  const target = { host: '127.0.0.1', port: s.h.port.port! };
  s.bob = new SignedClient(target, extraKeys.bob);
  s.carol = new SignedClient(target, extraKeys.carol);
  s.alice2 = new SignedClient(target, extraKeys.alice2);
  s.aliceLike = new SignedClient(target, extraKeys.aliceLike);
}

async function migrateUp(s: Stack): Promise<void> {
  const up = await s.h.admin.call('migrations.up', {});
  assert.equal(up.status, 202, up.text);
  assert.equal((await waitForJob(s.h.admin, up.json.jobId)).state, 'succeeded');
}

async function applied(s: Stack): Promise<string[]> {
  return ((await s.h.viewer.call('migrations.status')).json.applied as Array<{ name: string }>).map((r) => r.name);
}

test('catalog and tasks.list show the approval policies; a bad policy refuses to start', () => withStack({}, async (s) => {
  const cat = await s.h.viewer.call('catalog');
  const byId = Object.fromEntries((cat.json.endpoints as Array<{ id: string; approval?: unknown }>).map((e) => [e.id, e]));
  assert.deepEqual(byId['migrations.down']!.approval, { count: 1, breakGlass: true });
  assert.deepEqual(byId['flags.set']!.approval, { count: 2, role: 'operator' });
  assert.equal(byId['migrations.up']!.approval, undefined);
  for (const id of ['approvals.list', 'approvals.get', 'approvals.approve', 'approvals.reject']) assert.ok(byId[id], id);
  const t = await s.h.viewer.call('tasks.list');
  const purge = t.json.tasks.find((x: { name: string }) => x.name === 'purge');
  assert.deepEqual(purge.approval, { count: 1, role: 'admin', breakGlass: true });
  assert.equal(purge.dryRun, true);

  for (const [approvals, msg] of [
    [{ endpoints: { 'migrations.status': { count: 1 } } }, /cannot require approval/],
    [{ endpoints: { 'migrations.sideways': { count: 1 } } }, /does not serve/],
    [{ endpoints: { 'migrations.down': { count: 0 } } }, /count must be/],
    [{ endpoints: { 'migrations.down': { count: 1, role: 'root' } } }, /role must be/],
    [{ endpoints: { 'migrations.down': { count: 1, breakglass: true } } }, /unknown field/],
  ] as const) {
    await assert.rejects(s.h.restart({ approvals: approvals as InternalPortOptions['approvals'] }), msg);
  }
}));

test('migrations.down held → refused approvals → approved by another admin → runs as the requester, audited', () => withStack({}, async (s) => {
  await migrateUp(s);
  const plan = await s.h.admin.call('migrations.plan', { to: '0001-create-items', direction: 'down' });
  const body = { to: '0001-create-items', expectedPlan: plan.json.planHash };
  const held = await s.h.admin.call('migrations.down', body, { headers: { 'opsctl-reason': 'roll back 42', 'idempotency-key': 'k-down-1' } });
  assert.equal(held.status, 202, held.text);
  const a = held.json.approval;
  assert.match(a.id, /^[A-Za-z0-9]{16}$/);
  assert.equal(a.required, 1);
  assert.equal(a.state, 'pending');
  assert.match(a.digest, /^[0-9a-f]{64}$/);
  assert.ok(Date.parse(a.expiresAt) > Date.now() + 3500_000, 'default expiry 1 h');
  assert.equal((await applied(s)).length, 3, 'held, never run early');

  // A retry with the same Idempotency-Key is the same approval.
  const again = await s.h.admin.call('migrations.down', body, { headers: { 'opsctl-reason': 'roll back 42', 'idempotency-key': 'k-down-1' } });
  assert.equal(again.json.approval.id, a.id);

  // What the approver sees: exactly what was asked, and a digest they can recompute.
  const shown = await s.h.viewer.call('approvals.get', { id: a.id });
  assert.equal(shown.status, 200);
  const v = shown.json;
  assert.equal(v.endpoint, 'migrations.down');
  assert.deepEqual(v.params, body);
  assert.equal(v.reason, 'roll back 42');
  assert.equal(v.idempotencyKey, 'k-down-1');
  assert.equal(v.requester.name, 'alice-admin');
  assert.equal(v.approverRole, 'admin');
  assert.deepEqual(v.plan.pending, ['0003-create-orders', '0002-add-price']);
  assert.deepEqual(v.dryRun.pending, ['0003-create-orders', '0002-add-price'], 'dry-run at review time');
  assert.equal(createHash('sha256').update(v.signatureBase).update('\n').update(v.body).digest('hex'), v.digest);
  assert.match(v.signatureBase, /^"@method": POST\n"@path": \/v1\/migrations\/down\n/);
  assert.match(v.signatureBase, /"opsctl-reason": roll back 42/);
  assert.match(v.signatureBase, /"idempotency-key": k-down-1/);
  const list = await s.h.viewer.call('approvals.list');
  assert.equal(list.json.approvals[0].id, a.id);

  // Refusals: each leaves it pending and runs nothing.
  const self = await s.h.admin.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(self.status, 403);
  assert.equal(self.json.code, 'approval.self');
  const sameName = await s.alice2.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(sameName.json.code, 'approval.self', 'same principal on another key');
  const lookAlike = await s.aliceLike.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(lookAlike.json.code, 'approval.self', 'a look-alike name is the same person');
  const role = await s.carol.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(role.status, 403);
  assert.equal(role.json.code, 'auth.forbidden');
  const wrong = await s.bob.call('approvals.approve', { id: a.id, digest: 'f'.repeat(64) });
  assert.equal(wrong.status, 412);
  assert.equal(wrong.json.code, 'precondition.failed');
  const missing = await s.bob.call('approvals.approve', { id: 'nosuchapproval00', digest: a.digest });
  assert.equal(missing.status, 404);
  assert.equal((await applied(s)).length, 3);

  // A dry-run of the approval says what it would do, and changes nothing.
  const dry = await s.bob.call('approvals.approve', { id: a.id, digest: a.digest }, { headers: { 'opsctl-dry-run': '1' } });
  assert.equal(dry.status, 200, dry.text);
  assert.equal(dry.json.wouldChange.wouldRun, 'migrations.down');
  assert.equal((await s.h.viewer.call('approvals.get', { id: a.id })).json.state, 'pending');

  // Approved: runs once, as alice, as a job.
  const prepared = await s.bob.prepare('POST', `/v1/approvals/${a.id}/approve`, { body: { digest: a.digest, reason: 'checked the plan' } });
  const ok = await s.bob.sendPrepared(prepared);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.approval.state, 'executed');
  assert.equal(ok.json.counted, true);
  const jobId = ok.json.result.jobId;
  const job = await waitForJob(s.h.viewer, jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.startedBy, 'alice-admin');
  assert.deepEqual((await applied(s)), ['0001-create-items']);

  // Replaying the approve request is refused (nonce); approving again changes nothing.
  const replay = await s.bob.sendPrepared(prepared);
  assert.equal(replay.status, 401);
  assert.equal(replay.json.code, 'auth.replay');
  const twice = await s.bob.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(twice.status, 409);
  assert.equal(twice.json.code, 'approval.closed');
  const rejectLate = await s.bob.call('approvals.reject', { id: a.id });
  assert.equal(rejectLate.json.code, 'approval.closed');
  const final = await s.h.viewer.call('approvals.get', { id: a.id });
  assert.equal(final.json.state, 'executed');
  assert.deepEqual(final.json.approvers.map((x: { name: string }) => x.name), ['bob-admin']);
  assert.equal(final.json.approvers[0].reason, 'checked the plan');

  const audit = readAudit(s.h.auditFile).filter((r) => r.endpoint === 'migrations.down');
  const outcomes = audit.map((r) => `${String(r.outcome)}:${String(r.principal)}`);
  assert.deepEqual(outcomes, ['pending:alice-admin', 'pending:alice-admin', 'approved:bob-admin', 'accepted:alice-admin', 'ok:alice-admin'], outcomes.join(' '));
  for (const r of audit) assert.equal((r.approval as { id: string }).id, a.id);
  assert.deepEqual((audit[3]!.approval as { approvers: string[] }).approvers, ['bob-admin']);
  assert.equal(audit[3]!.reason, 'roll back 42');
  assert.equal(audit[4]!.jobId, jobId);
  assert.equal((await s.h.admin.call('audit.verify')).json.ok, true);
  const mode = fs.statSync(path.join(path.dirname(s.h.auditFile), 'approvals.json')).mode & 0o777;
  assert.equal(mode, 0o600);
}));

test('two approvals needed: the same person twice counts once; a rejection ends it; the requester may withdraw', () => withStack({}, async (s) => {
  const held = await s.h.operator.call('flags.set', { name: 'checkout.v2', value: true });
  assert.equal(held.status, 202, held.text);
  const a = held.json.approval;
  assert.equal(a.required, 2);
  const first = await s.bob.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.approval.state, 'pending');
  const dup = await s.bob.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(dup.json.counted, false);
  assert.equal(dup.json.approval.approvers.length, 1);
  assert.equal((await s.h.viewer.call('flags.get', { name: 'checkout.v2' })).json.value, false);
  const second = await s.h.admin.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.json.approval.state, 'executed');
  assert.equal(second.json.result.status, 200);
  assert.equal(second.json.result.body.value, true);
  const flag = (await s.h.viewer.call('flags.get', { name: 'checkout.v2' })).json;
  assert.equal(flag.value, true);
  assert.equal(flag.updatedBy, 'oscar-operator', 'ran as the requester');

  const h2 = await s.h.operator.call('flags.set', { name: 'checkout.v2', value: false });
  const rej = await s.bob.call('approvals.reject', { id: h2.json.approval.id, reason: 'not today' });
  assert.equal(rej.status, 200);
  assert.equal(rej.json.approval.state, 'rejected');
  assert.equal(rej.json.approval.rejectedBy.reason, 'not today');
  assert.equal((await s.h.admin.call('approvals.approve', { id: h2.json.approval.id, digest: h2.json.approval.digest })).json.code, 'approval.closed');
  const viewerReject = await s.h.operator.call('flags.set', { name: 'checkout.v2', value: false });
  assert.equal((await s.h.viewer.call('approvals.reject', { id: viewerReject.json.approval.id })).json.code, 'auth.forbidden');
  const withdrawn = await s.h.operator.call('approvals.reject', { id: viewerReject.json.approval.id, reason: 'typo' });
  assert.equal(withdrawn.json.approval.state, 'rejected');
  assert.equal((await s.h.viewer.call('flags.get', { name: 'checkout.v2' })).json.value, true);
  const audit = readAudit(s.h.auditFile);
  assert.equal(audit.filter((r) => r.outcome === 'rejected').length, 2);
}));

test('expiry: a short configured expiry → 410 approval.expired, an expired record, nothing runs', () => withStack({ approvals: { expirySeconds: 1, endpoints: { 'migrations.down': { count: 1 } } } }, async (s) => {
  await migrateUp(s);
  const held = await s.h.admin.call('migrations.down', { to: '0' });
  assert.equal(held.status, 202, held.text);
  await new Promise((r) => setTimeout(r, 1600));
  const late = await s.bob.call('approvals.approve', { id: held.json.approval.id, digest: held.json.approval.digest });
  assert.equal(late.status, 410);
  assert.equal(late.json.code, 'approval.expired');
  assert.equal((await s.h.viewer.call('approvals.get', { id: held.json.approval.id })).json.state, 'expired');
  assert.equal((await applied(s)).length, 3);
  const expired = readAudit(s.h.auditFile).filter((r) => r.outcome === 'expired');
  assert.equal(expired.length, 1);
  assert.equal((expired[0]!.approval as { id: string }).id, held.json.approval.id);
}));

test('per-requester bound: 429 approval.limit beyond maxPendingPerRequester', () => withStack({ approvals: { maxPendingPerRequester: 2, endpoints: { 'migrations.down': { count: 1 } } } }, async (s) => {
  await migrateUp(s);
  assert.equal((await s.h.admin.call('migrations.down', { to: '0' })).status, 202);
  assert.equal((await s.h.admin.call('migrations.down', { to: '0' })).status, 202);
  const third = await s.h.admin.call('migrations.down', { to: '0' });
  assert.equal(third.status, 429);
  assert.equal(third.json.code, 'approval.limit');
  assert.equal((await s.bob.call('migrations.down', { to: '0' })).status, 202, 'another requester is not affected');
}));

test('restart with a pending approval: still pending, then approved and run', () => withStack({}, async (s) => {
  await migrateUp(s);
  const held = await s.h.admin.call('migrations.down', { to: '0002-add-price' });
  assert.equal(held.status, 202);
  await s.h.restart();
  refresh(s);
  const after = await s.h.viewer.call('approvals.get', { id: held.json.approval.id });
  assert.equal(after.json.state, 'pending');
  const ok = await s.bob.call('approvals.approve', { id: held.json.approval.id, digest: held.json.approval.digest });
  assert.equal(ok.status, 200, ok.text);
  await waitForJob(s.h.viewer, ok.json.result.jobId);
  assert.deepEqual((await applied(s)), ['0001-create-items', '0002-add-price']);
}));

test('plan moved between request and approval → 412, nothing runs; role removed meanwhile → does not run', () => withStack({}, async (s) => {
  await migrateUp(s);
  // No expectedPlan sent: the plan shown at hold time is bound anyway.
  const held = await s.h.admin.call('migrations.down', { to: '0001-create-items' });
  assert.equal(held.status, 202);
  const other = await s.bob.call('migrations.down', { to: '0002-add-price' }, { headers: { 'opsctl-break-glass': 'incident 7: revert 0003 now' } });
  assert.equal(other.status, 202, other.text);
  await waitForJob(s.h.viewer, other.json.jobId);
  assert.deepEqual((await applied(s)), ['0001-create-items', '0002-add-price']);
  const shown = await s.h.viewer.call('approvals.get', { id: held.json.approval.id });
  assert.deepEqual(shown.json.plan.pending, ['0003-create-orders', '0002-add-price'], 'the plan as held');
  assert.deepEqual(shown.json.dryRun.error?.code, 'precondition.failed', 'review-time dry-run shows the plan moved');
  const moved = await s.carol.call('approvals.approve', { id: held.json.approval.id, digest: held.json.approval.digest });
  assert.equal(moved.json.code, 'auth.forbidden', 'carol is an operator');
  const ok = await s.alice2.call('approvals.approve', { id: held.json.approval.id, digest: held.json.approval.digest });
  assert.equal(ok.json.code, 'approval.self');
  // Approver bob approves: the plan moved, 412, nothing runs.
  const r = await s.bob.call('approvals.approve', { id: held.json.approval.id, digest: held.json.approval.digest });
  assert.equal(r.status, 412, r.text);
  assert.equal(r.json.approval.state, 'failed');
  assert.deepEqual((await applied(s)), ['0001-create-items', '0002-add-price']);

  // Role removed: oscar asks to set a flag, is demoted to viewer before the approvals.
  const f = await s.h.operator.call('flags.set', { name: 'checkout.v2', value: true });
  assert.equal(f.status, 202);
  assert.equal((await s.bob.call('approvals.approve', { id: f.json.approval.id, digest: f.json.approval.digest })).status, 200);
  s.writeKeys({ 'oscar-operator': 'viewer' });
  const denied = await s.h.admin.call('approvals.approve', { id: f.json.approval.id, digest: f.json.approval.digest });
  assert.equal(denied.status, 403, denied.text);
  assert.match(denied.json.detail, /did not run/);
  assert.equal((await s.h.viewer.call('flags.get', { name: 'checkout.v2' })).json.value, false);
  const audit = readAudit(s.h.auditFile);
  assert.ok(audit.some((r) => r.endpoint === 'flags.set' && r.outcome === 'denied' && r.code === 'auth.forbidden' && (r.approval as { id: string })?.id === f.json.approval.id));
}));

test('break-glass: admin only, where allowed, marked in every record, listed for review', () => withStack({ approvals: { endpoints: { 'migrations.down': { count: 1, breakGlass: true }, 'flags.set': { count: 1 } } } }, async (s) => {
  await migrateUp(s);
  const byOperator = await s.h.operator.call('tasks.run', { name: 'purge', params: { days: 30 } }, { headers: { 'opsctl-break-glass': 'incident' } });
  assert.equal(byOperator.status, 403);
  assert.equal(byOperator.json.code, 'approval.break_glass');
  const notAllowed = await s.h.admin.call('flags.set', { name: 'checkout.v2', value: true }, { headers: { 'opsctl-break-glass': 'incident' } });
  assert.equal(notAllowed.json.code, 'approval.break_glass');
  const noGlass = await s.h.admin.call('tasks.run', { name: 'noop' }, { headers: { 'opsctl-break-glass': 'incident' } });
  assert.equal(noGlass.status, 202, 'no approval needed: runs as it would anyway');
  const plan = await s.h.admin.call('migrations.plan', { to: '0', direction: 'down' }, { headers: { 'opsctl-break-glass': 'incident', 'opsctl-dry-run': '1' } });
  assert.equal(plan.status, 200);
  assert.equal(plan.json.pending.length, 3, 'a plan is answered as a plan');
  const empty = await s.h.admin.call('migrations.down', { to: '0' }, { headers: { 'opsctl-break-glass': ' ' } });
  assert.equal(empty.status, 400);
  const unsignedHeader = await s.h.admin.call('migrations.down', { to: '0' }, { headers: { 'opsctl-break-glass': 'x' }, components: ['@method', '@path', '@query', 'content-digest'] });
  assert.equal(unsignedHeader.status, 401, 'the header must be covered by the signature');

  const bg = await s.h.admin.call('tasks.run', { name: 'purge', params: { days: 30 } }, { headers: { 'opsctl-break-glass': 'incident 9: disk full' } });
  assert.equal(bg.status, 202, bg.text);
  await waitForJob(s.h.viewer, bg.json.jobId);
  assert.deepEqual(runs.at(-1), { days: 30, by: 'alice-admin' });
  const list = (await s.h.viewer.call('approvals.list')).json.approvals;
  const entry = list.find((x: { breakGlass?: unknown }) => x.breakGlass);
  assert.equal(entry.breakGlass.reason, 'incident 9: disk full');
  assert.equal(entry.state, 'executed');
  assert.equal(entry.endpoint, 'tasks.run');
  assert.equal(entry.result.jobId, bg.json.jobId);
  const marked = readAudit(s.h.auditFile).filter((r) => r.endpoint === 'tasks.run' && r.breakGlass === 'incident 9: disk full');
  assert.deepEqual(marked.map((r) => r.outcome), ['accepted', 'ok']);
}));

test('dry-run of each mutating endpoint: checks everything, applies nothing, only dry-run records', () => withStack({}, async (s) => {
  const dry = { headers: { 'opsctl-dry-run': '1' } };
  const before = fs.readFileSync(s.h.auditFile, 'utf8');
  const flag = await s.h.operator.call('flags.set', { name: 'checkout.v2', value: 'true' }, dry);
  assert.equal(flag.status, 200, flag.text);
  assert.deepEqual(flag.json.wouldChange, { name: 'checkout.v2', type: 'boolean', from: false, to: true, changes: true });
  assert.deepEqual(flag.json.approval, { count: 2, role: 'operator' }, 'says it would be held');
  assert.equal((await s.h.operator.call('flags.set', { name: 'checkout.v2', value: 7 }, dry)).status, 400, 'value checked');
  assert.equal((await s.h.viewer.call('flags.set', { name: 'checkout.v2', value: true }, dry)).status, 403, 'role checked');

  const up = await s.h.admin.call('migrations.up', {}, dry);
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.json.wouldChange.pending, ['0001-create-items', '0002-add-price', '0003-create-orders']);
  assert.equal((await s.h.admin.call('migrations.up', { expectedPlan: 'a'.repeat(64) }, dry)).status, 412, 'plan checked');
  s.fx.db.prepare('INSERT INTO migration_lock (id, holder, since) VALUES (1, ?, ?)').run('someone else', new Date().toISOString());
  const locked = await s.h.admin.call('migrations.up', {}, dry);
  assert.equal(locked.status, 409, 'lock checked');
  assert.equal(locked.json.holder, 'someone else');
  s.fx.db.prepare('DELETE FROM migration_lock').run();

  const task = await s.h.operator.call('tasks.run', { name: 'purge', params: { days: 5 } }, dry);
  assert.equal(task.status, 200, task.text);
  assert.deepEqual(task.json.wouldChange, { task: 'purge', params: { days: 5 }, dryRun: { wouldPurge: 3, olderThanDays: 5 } });
  assert.equal((await s.h.operator.call('tasks.run', { name: 'purge', params: { days: 0 } }, dry)).status, 400);
  const noop = await s.h.operator.call('tasks.run', { name: 'noop' }, dry);
  assert.match(noop.json.wouldChange.note, /no dryRun handler/);
  assert.equal((await s.h.admin.call('migrations.down', { to: '0009-nope' }, dry)).status, 400, 'target checked');
  assert.equal((await s.h.admin.call('migrations.up', {}, { headers: { 'opsctl-dry-run': 'yes' } })).status, 400);

  assert.equal((await applied(s)).length, 0);
  assert.deepEqual(runs.filter((r) => r.days === 5), []);
  assert.equal((await s.h.viewer.call('flags.get', { name: 'checkout.v2' })).json.value, false);
  assert.equal((await s.h.viewer.call('approvals.list')).json.approvals.length, 0, 'a dry-run is never held');
  const added = readAudit(s.h.auditFile).slice(before.split('\n').filter(Boolean).length);
  const mutating = added.filter((r) => r.method !== 'GET');
  assert.ok(mutating.every((r) => r.outcome === 'dry-run' || r.outcome === 'denied'), JSON.stringify(mutating.map((r) => r.outcome)));
  assert.equal(mutating.filter((r) => r.outcome === 'dry-run').length, 4);
  assert.equal((await s.h.admin.call('audit.verify')).json.ok, true);
}));
