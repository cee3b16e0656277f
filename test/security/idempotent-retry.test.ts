/**
 * Attack: retry a held request with its Idempotency-Key at every stage of
 * its approval — while pending, after it was approved and ran, after a
 * rejection, after expiry, after a restart — hoping for a second approval
 * (and a second run), and reuse the key for another body hoping for the
 * first one's approval. Every retry must get the same approval in its
 * current state and nothing new; another body under the key is 422 at
 * every stage; the key is scoped to the signing key
 * (src/server/README.md, "Approvals and dry-run").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { TaskDefinition } from '../../src/server/index.js';
import { SignedClient, makeKey, waitForJob, writeAllowlist } from '../helpers/signed-client.js';
import { readAudit, startHarness, tempDir, type Harness } from '../server/fixtures/harness.js';

const runs: string[] = [];
const tasks: TaskDefinition[] = [
  {
    name: 'purge', summary: 'Delete old rows', role: 'operator', destructive: true,
    params: { type: 'object', properties: { tag: { type: 'string' } }, required: ['tag'], additionalProperties: false },
    approval: { count: 1, role: 'admin' },
    async handler(params) { runs.push(String(params.tag)); return { purged: String(params.tag) }; },
  },
  {
    name: 'noop', summary: 'Nothing held', role: 'operator', destructive: false,
    params: { type: 'object', properties: { tag: { type: 'string' } }, additionalProperties: false },
    async handler(params) { runs.push(`noop:${String(params.tag)}`); return null; },
  },
];

const keyDir = tempDir('opsctl-idem-keys-');
const bob = makeKey(keyDir, 'bob-admin');
let h: Harness;
let bobClient: SignedClient;

async function start(extra: Record<string, unknown> = {}): Promise<Harness> {
  const harness = await startHarness({ tasks, ...extra }, { keysDir: keyDir });
  writeAllowlist(harness.allowlistFile, [[harness.keys.admin, 'admin'], [harness.keys.operator, 'operator'], [harness.keys.viewer], [bob, 'admin']]);
  const t = new Date(Date.now() + 2000);
  fs.utimesSync(harness.allowlistFile, t, t);
  return harness;
}

before(async () => {
  h = await start();
  bobClient = new SignedClient({ host: '127.0.0.1', port: h.port.port! }, bob);
});
after(() => h.close());

const purge = (c: SignedClient, tag: string, key: string) => c.call('tasks.run', { name: 'purge', params: { tag } }, { headers: { 'idempotency-key': key, 'opsctl-reason': 'cleanup' } });
const runsOf = (tag: string) => runs.filter((r) => r === tag).length;

test('pending: a retry is the same approval, another body under the key is 422', async () => {
  const first = await purge(h.operator, 'p1', 'key-pending');
  assert.equal(first.status, 202, first.text);
  const id = first.json.approval.id;
  const retry = await purge(h.operator, 'p1', 'key-pending');
  assert.equal(retry.status, 202, retry.text);
  assert.equal(retry.json.approval.id, id);
  assert.equal(retry.json.approval.state, 'pending');
  assert.equal(retry.headers['idempotency-replayed'], 'true');
  const other = await purge(h.operator, 'p1-other', 'key-pending');
  assert.equal(other.status, 422, other.text);
  assert.equal(other.json.code, 'request.idempotency_mismatch');
  // Another endpoint under the key: 422 too (the key is bound to the held request).
  const elsewhere = await h.operator.call('tasks.run', { name: 'noop', params: { tag: 'x' } }, { headers: { 'idempotency-key': 'key-pending' } });
  assert.equal(elsewhere.status, 422, elsewhere.text);
  assert.equal(runs.includes('noop:x'), false);
  const pending = (await h.viewer.call('approvals.list', { state: 'pending' })).json.approvals.filter((a: { endpoint: string; requester: { name: string } }) => a.requester.name === 'oscar-operator');
  assert.equal(pending.length, 1, 'one approval, not one per retry');
  await h.admin.call('approvals.reject', { id });
});

test('approved and run: a retry gets that approval with its result and never runs again', async () => {
  const first = await purge(h.operator, 'p2', 'key-run');
  const a = first.json.approval;
  const ok = await h.admin.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.approval.state, 'executed');
  const jobId = ok.json.result.jobId as string;
  assert.equal((await waitForJob(h.viewer, jobId)).state, 'succeeded');
  assert.equal(runsOf('p2'), 1);
  for (let i = 0; i < 3; i++) {
    const retry = await purge(h.operator, 'p2', 'key-run');
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.json.approval.id, a.id, 'the same approval');
    assert.equal(retry.json.approval.state, 'executed');
    assert.equal(retry.json.approval.result.jobId, jobId, 'with the job it started');
  }
  assert.equal(runsOf('p2'), 1, 'ran once');
  assert.equal((await h.viewer.call('jobs.list')).json.jobs.filter((j: { name?: string; startedBy: string }) => j.startedBy === 'oscar-operator' && j.name === 'purge').length, 1, 'one job');
  assert.equal((await purge(h.operator, 'p2-other', 'key-run')).status, 422, 'another body after the run: 422');
  const approvals = (await h.viewer.call('approvals.list')).json.approvals.filter((x: { idempotencyKey: string | null }) => x.idempotencyKey === 'key-run');
  assert.equal(approvals.length, 1, 'no second approval');
  const recs = readAudit(h.auditFile).filter((r) => (r.approval as { id?: string } | undefined)?.id === a.id);
  assert.equal(recs.filter((r) => r.outcome === 'accepted').length, 1, 'one accepted record');
  assert.equal(recs.filter((r) => r.replayed === true).length, 3, 'each retry audited as a replay');
});

test('rejected: a retry gets the rejection, nothing runs', async () => {
  const first = await purge(h.operator, 'p3', 'key-rejected');
  const a = first.json.approval;
  assert.equal((await h.admin.call('approvals.reject', { id: a.id, reason: 'no' })).status, 200);
  const retry = await purge(h.operator, 'p3', 'key-rejected');
  assert.equal(retry.status, 202, retry.text);
  assert.equal(retry.json.approval.id, a.id);
  assert.equal(retry.json.approval.state, 'rejected');
  assert.equal((await purge(h.operator, 'p3-other', 'key-rejected')).status, 422);
  assert.equal(runsOf('p3'), 0);
  // The same key from another signing key is another request: scoped per key.
  const byBob = await purge(bobClient, 'p3', 'key-rejected');
  assert.equal(byBob.status, 202, byBob.text);
  assert.notEqual(byBob.json.approval.id, a.id, 'the key is per signing key');
  await bobClient.call('approvals.reject', { id: byBob.json.approval.id });
});

test('a key used by a request that ran is 422 for a held one, and the other way round', async () => {
  const ran = await h.operator.call('tasks.run', { name: 'noop', params: { tag: 'first' } }, { headers: { 'idempotency-key': 'key-ran' } });
  assert.equal(ran.status, 202, ran.text);
  await waitForJob(h.viewer, ran.json.jobId);
  const heldUnder = await purge(h.operator, 'p4', 'key-ran');
  assert.equal(heldUnder.status, 422, heldUnder.text);
  assert.equal((await h.viewer.call('approvals.list', { state: 'pending' })).json.approvals.some((x: { idempotencyKey: string }) => x.idempotencyKey === 'key-ran'), false);
});

test('after a restart: the pending approval and its key binding are still there', async () => {
  const first = await purge(h.operator, 'p5', 'key-restart');
  const a = first.json.approval;
  await h.restart();
  bobClient = new SignedClient({ host: '127.0.0.1', port: h.port.port! }, bob);
  const retry = await purge(h.operator, 'p5', 'key-restart');
  assert.equal(retry.status, 202, retry.text);
  assert.equal(retry.json.approval.id, a.id, 'the same approval after the restart');
  assert.equal((await purge(h.operator, 'p5-other', 'key-restart')).status, 422);
  const approved = await bobClient.call('approvals.approve', { id: a.id, digest: a.digest });
  assert.equal(approved.status, 200, approved.text);
  await waitForJob(h.viewer, approved.json.result.jobId);
  assert.equal(runsOf('p5'), 1);
  await h.restart();
  const afterRun = await purge(h.operator, 'p5', 'key-restart');
  assert.equal(afterRun.json.approval.id, a.id);
  assert.equal(afterRun.json.approval.state, 'executed');
  assert.equal(runsOf('p5'), 1, 'never a second run, restart or not');
});

test('expired: a retry gets the expired approval, not a new one', async () => {
  const short = await start({ approvals: { expirySeconds: 1 } });
  try {
    const first = await purge(short.operator, 'p6', 'key-expiry');
    assert.equal(first.status, 202, first.text);
    const a = first.json.approval;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const state = (await short.viewer.call('approvals.get', { id: a.id })).json.state;
      if (state === 'expired') break;
      assert.ok(Date.now() < deadline, `still ${state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const retry = await purge(short.operator, 'p6', 'key-expiry');
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.json.approval.id, a.id);
    assert.equal(retry.json.approval.state, 'expired');
    assert.equal((await purge(short.operator, 'p6-other', 'key-expiry')).status, 422);
    assert.equal(runsOf('p6'), 0);
  } finally {
    await short.close();
  }
});
