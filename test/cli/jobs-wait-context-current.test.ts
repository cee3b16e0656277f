/**
 * `jobs wait` (exit status = how the job ended, --timeout, -o json) and
 * `context current`, against a real internal port; `audit tail` shows how a
 * job ended in its STATUS column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness } from '../helpers/cli-harness.js';

const h = fileHarness();

test('jobs wait: 0 for a job that succeeds, 1 for one that fails; one JSON document of the final job', async () => {
  const ok = await h.run(['tasks', 'run', 'count', '--param', 'delayMs=50'], { as: 'operator' });
  const okId = ok.stdout.trim();
  const waited = await h.run(['jobs', 'wait', okId], { as: 'viewer' });
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stderr, new RegExp(`job ${okId} succeeded`));

  const bad = (await h.run(['tasks', 'run', 'count', '--param', 'fail=true'], { as: 'operator' })).stdout.trim();
  const failed = await h.run(['-o', 'json', 'jobs', 'wait', bad], { as: 'viewer' });
  assert.equal(failed.code, 1);
  const doc = failed.json();
  assert.equal(doc.id, bad);
  assert.equal(doc.state, 'failed');
});

test('jobs wait --timeout: exit 1 with code job.timeout; the job keeps running', async () => {
  const id = (await h.run(['tasks', 'run', 'wait'], { as: 'operator' })).stdout.trim();
  const t0 = Date.now();
  const r = await h.run(['jobs', 'wait', id, '--timeout', '0.5'], { as: 'viewer' });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - t0 < 5000, 'gave up in time');
  assert.match(r.stderr, new RegExp(`job ${id} had not ended after 0.5 s; it keeps running`));
  assert.match(r.stderr, new RegExp(`Wait again with: opsctl jobs wait ${id}`));
  const status = await h.run(['-o', 'json', 'jobs', 'status', id], { as: 'viewer' });
  assert.equal(status.json().state, 'running');
  assert.equal((await h.run(['jobs', 'cancel', id], { as: 'operator' })).code, 0);
  const cancelled = await h.run(['jobs', 'wait', id], { as: 'viewer' });
  assert.equal(cancelled.code, 1);
  assert.match(cancelled.stderr, /cancelled/);
});

test('context current: the name alone on stdout, its source under -o json; 2 when none is selected', async () => {
  const r = await h.run(['context', 'current']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'test\n');
  const j = await h.run(['-o', 'json', '--context', 'prod', 'context', 'current']);
  assert.deepEqual(j.json(), { name: 'prod', source: '--context' });
  const env = await h.run(['-o', 'json', 'context', 'current'], { env: { OPSCTL_CONTEXT: 'strict' } });
  assert.deepEqual(env.json(), { name: 'strict', source: 'OPSCTL_CONTEXT' });
  const missing = await h.run(['context', 'current'], { env: { OPSCTL_CONTEXT: 'nope' } });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /context "nope" \(from OPSCTL_CONTEXT\) does not exist/);
});

test('audit tail: a job\'s accepted and completion records say in STATUS that it started and how it ended', async () => {
  const id = (await h.run(['tasks', 'run', 'count', '--param', 'fail=true', '-f'], { as: 'operator' })).stderr.match(/opsctl: job (\S+) failed/)![1]!;
  const records = await h.auditSettled();
  assert.ok(records.some((r) => r.jobId === id && r.status === null), 'the completion record has no HTTP status');
  const r = await h.run(['audit', 'tail', '-n', '50']);
  const row = r.stdout.split('\n').find((l) => l.includes(id) && /job failed/.test(l));
  assert.ok(row, r.stdout);
  // Its write-ahead record (no HTTP status either) says the job started.
  assert.ok(records.some((x) => x.jobId === id && x.outcome === 'accepted' && x.status === null), 'the accepted record has no HTTP status');
  const started = r.stdout.split('\n').find((l) => l.includes(id) && /\taccepted\tjob started\t/.test(l));
  assert.ok(started, `the accepted row says "job started":\n${r.stdout}`);
});
