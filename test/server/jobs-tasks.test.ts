import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskDefinition } from '../../src/server/index.js';
import { waitForJob } from '../helpers/signed-client.js';
import { readAudit, startHarness, type Harness } from './fixtures/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counters = { count: 0, purge: 0, sawAbort: false };
let _release: (() => void) | undefined;

const tasks: TaskDefinition[] = [
  {
    name: 'reindex', summary: 'Rebuild the search index', role: 'operator', destructive: false,
    params: { type: 'object', properties: { batches: { type: 'integer', minimum: 1, maximum: 50 }, token: { type: 'string', secret: true } }, required: ['batches'], additionalProperties: false },
    async handler(params, ctx) {
      const n = params.batches as number;
      for (let i = 1; i <= n; i++) {
        ctx.signal.throwIfAborted();
        await sleep(20);
        ctx.progress({ current: i, total: n, message: `batch ${i}` });
        ctx.log(`batch ${i} done`);
      }
      return { batches: n, by: ctx.principal.name };
    },
  },
  {
    name: 'wait-for-cancel', summary: 'Runs until cancelled', role: 'operator', destructive: false,
    params: { type: 'object', additionalProperties: false },
    async handler(_params, ctx) {
      await new Promise<void>((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => { counters.sawAbort = true; reject(new Error('stopped at a safe point')); }, { once: true });
      });
    },
  },
  {
    name: 'count', summary: 'Counts its runs', role: 'operator', destructive: false,
    params: { type: 'object', properties: { note: { type: 'string' } }, additionalProperties: false },
    async handler() {
      counters.count++;
      await new Promise<void>((r) => { _release = r; setTimeout(r, 150); });
      return { count: counters.count };
    },
  },
  {
    name: 'purge', summary: 'Deletes old rows', role: 'admin', destructive: true,
    params: { type: 'object', properties: { olderThanDays: { type: 'integer', minimum: 1 } }, required: ['olderThanDays'], additionalProperties: false },
    async handler(params) { counters.purge++; return { purged: params.olderThanDays }; },
  },
  {
    name: 'explode', summary: 'Always fails', role: 'operator', destructive: false,
    params: { type: 'object', additionalProperties: false },
    async handler() { throw Object.assign(new Error('disk full'), { code: 'ENOSPC' }); },
  },
];

let h: Harness;
before(async () => {
  h = await startHarness({
    tasks,
    maxConcurrentJobs: 3,
    endpoints: [{
      id: 'cache.warm', method: 'POST', path: '/v1/cache/warm', summary: 'Warm the cache', role: 'operator',
      params: { type: 'object', additionalProperties: false },
      job: async (_p, ctx) => { ctx.progress(0.5); return { warmed: true }; },
    }],
  });
});
after(() => h.close());

const run = (client: Harness['operator'], name: string, params: Record<string, unknown> = {}, opts = {}) => client.call('tasks.run', { name, params }, opts);

test('tasks.list shows each task with name, summary, description, destructive, role and params', async () => {
  const r = await h.viewer.call('tasks.list');
  assert.equal(r.status, 200);
  const purge = r.json.tasks.find((t: { name: string }) => t.name === 'purge');
  assert.deepEqual(purge, { name: 'purge', summary: 'Deletes old rows', description: 'Deletes old rows', destructive: true, role: 'admin', scope: 'instance', params: tasks[3]!.params });
  assert.equal(r.json.tasks.length, tasks.length);
});

test('tasks.run: params validated (field named), the task\'s own role enforced, unknown task 404', async () => {
  const bad = await run(h.operator, 'reindex', { batches: 0 });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, 'params.batches');
  const missing = await run(h.operator, 'reindex', {});
  assert.equal(missing.json.field, 'params.batches');
  const viewer = await run(h.viewer, 'reindex', { batches: 1 });
  assert.equal(viewer.status, 403);
  const viewerBad = await run(h.viewer, 'reindex', { batches: 'lots' });
  assert.equal(viewerBad.status, 403, 'a caller without the role learns nothing about params');
  const operator = await run(h.operator, 'purge', { olderThanDays: 30 });
  assert.equal(operator.status, 403, 'destructive admin task');
  assert.equal(counters.purge, 0);
  const unknown = await run(h.operator, 'nope');
  assert.equal(unknown.status, 404);
  const admin = await run(h.admin, 'purge', { olderThanDays: 30 });
  assert.equal(admin.status, 202);
  assert.equal((await waitForJob(h.admin, admin.json.jobId)).state, 'succeeded');
  assert.equal(counters.purge, 1);
});

test('a task runs as a job with progress; jobs.events streams NDJSON live and replays after the end', async () => {
  const r = await run(h.operator, 'reindex', { batches: 5, token: 's3cr3t-token' });
  assert.equal(r.status, 202);
  const live = await h.viewer.stream(`/v1/jobs/${r.json.jobId}/events`);
  assert.equal(live.status, 200);
  const types = live.lines.map((l) => l.type);
  assert.equal(types[0], 'state');
  assert.equal(types.at(-1), 'end');
  assert.equal(types.filter((t) => t === 'progress').length, 5);
  assert.equal(types.filter((t) => t === 'log').length, 5);
  const end = live.lines.at(-1)!;
  assert.equal(end.state, 'succeeded');
  assert.deepEqual(end.result, { batches: 5, by: 'oscar-operator' });
  for (const l of live.lines) assert.ok(!Number.isNaN(Date.parse(String(l.time))));
  const progress = live.lines.filter((l) => l.type === 'progress').at(-1)!;
  assert.deepEqual([progress.current, progress.total, progress.fraction, progress.message], [5, 5, 1, 'batch 5']);
  const replay = await h.viewer.stream(`/v1/jobs/${r.json.jobId}/events`);
  assert.deepEqual(replay.lines, live.lines, 'a finished job replays every event, then ends');

  const job = (await h.viewer.call('jobs.get', { id: r.json.jobId })).json;
  for (const f of ['id', 'endpoint', 'state', 'progress', 'result', 'error', 'startedBy', 'startedAt', 'endedAt']) assert.ok(f in job, f);
  assert.equal(job.endpoint, 'tasks.run');
  assert.equal(job.name, 'reindex');
  const list = await h.viewer.call('jobs.list');
  assert.ok(list.json.jobs.some((j: { id: string }) => j.id === r.json.jobId));

  const audit = readAudit(h.auditFile);
  const rec = audit.find((x) => x.jobId === r.json.jobId && x.outcome === 'accepted')!;
  assert.deepEqual(rec.params, { name: 'reindex', params: { batches: 5, token: '[redacted]' } });
  assert.ok(!JSON.stringify(audit).includes('s3cr3t-token'), 'the secret is nowhere in the audit log');
});

test('cancel: the handler sees an aborted signal and the job ends cancelled', async () => {
  const r = await run(h.operator, 'wait-for-cancel');
  assert.equal(r.status, 202);
  assert.equal((await h.viewer.call('jobs.cancel', { id: r.json.jobId })).status, 403, 'cancel needs operator');
  const c = await h.operator.call('jobs.cancel', { id: r.json.jobId });
  assert.equal(c.status, 200);
  assert.equal(c.json.cancelRequested, true);
  const job = await waitForJob(h.viewer, r.json.jobId);
  assert.equal(job.state, 'cancelled');
  assert.equal(counters.sawAbort, true);
  const events = await h.viewer.stream(`/v1/jobs/${r.json.jobId}/events`);
  assert.equal(events.lines.at(-1)!.state, 'cancelled');
  const audit = readAudit(h.auditFile);
  assert.ok(audit.some((x) => x.jobId === r.json.jobId && x.outcome === 'error' && x.code === 'cancelled'));
  assert.equal((await h.operator.call('jobs.cancel', { id: 'no-such-job' })).status, 404);
});

test('a failing job ends failed with its error; a custom job endpoint runs too', async () => {
  const r = await run(h.operator, 'explode');
  const job = await waitForJob(h.viewer, r.json.jobId);
  assert.equal(job.state, 'failed');
  assert.deepEqual(job.error, { code: 'ENOSPC', message: 'disk full' });
  const warm = await h.operator.send('POST', '/v1/cache/warm', { body: {} });
  assert.equal(warm.status, 202);
  const done = await waitForJob(h.viewer, warm.json.jobId);
  assert.deepEqual([done.state, done.endpoint, done.result], ['succeeded', 'cache.warm', { warmed: true }]);
});

test('Idempotency-Key: a retry returns the first answer without running again; another body → 422', async () => {
  const before = counters.count;
  const key = { headers: { 'idempotency-key': 'retry-123' } };
  const [a, b] = await Promise.all([run(h.operator, 'count', { note: 'x' }, key), run(h.operator, 'count', { note: 'x' }, key)]);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(a.json.jobId, b.json.jobId, 'a concurrent duplicate waits for the first and gets its answer');
  const c = await run(h.operator, 'count', { note: 'x' }, key);
  assert.equal(c.json.jobId, a.json.jobId);
  assert.equal(c.headers['idempotency-replayed'], 'true');
  await waitForJob(h.viewer, a.json.jobId);
  assert.equal(counters.count, before + 1, 'ran once');
  const other = await run(h.operator, 'count', { note: 'y' }, key);
  assert.equal(other.status, 422);
  assert.equal(other.json.code, 'request.idempotency_mismatch');
  const otherKey = await h.admin.call('tasks.run', { name: 'count', params: { note: 'x' } }, key);
  assert.equal(otherKey.status, 202, 'keys are per signer');
  assert.notEqual(otherKey.json.jobId, a.json.jobId);
  await waitForJob(h.viewer, otherKey.json.jobId);
  const flagRetry = await h.operator.call('jobs.cancel', { id: a.json.jobId }, { headers: { 'idempotency-key': 'cancel-1' } });
  const flagRetry2 = await h.operator.call('jobs.cancel', { id: a.json.jobId }, { headers: { 'idempotency-key': 'cancel-1' } });
  assert.equal(flagRetry2.text, flagRetry.text);
  const audit = readAudit(h.auditFile);
  assert.ok(audit.some((x) => x.replayed === true && x.outcome === 'ok'));
});

test('max concurrent jobs → 429 limit.jobs (one of the 3 slots is kept for admins)', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await run(h.operator, 'wait-for-cancel');
    assert.equal(r.status, 202);
    ids.push(r.json.jobId);
  }
  const kept = await run(h.operator, 'wait-for-cancel');
  assert.equal(kept.status, 429, 'the last slot is kept for admins');
  assert.equal(kept.json.code, 'limit.jobs');
  const admin = await run(h.admin, 'wait-for-cancel');
  assert.equal(admin.status, 202);
  ids.push(admin.json.jobId);
  const over = await run(h.admin, 'wait-for-cancel');
  assert.equal(over.status, 429);
  assert.equal(over.json.code, 'limit.jobs');
  for (const id of ids) await h.operator.call('jobs.cancel', { id });
  for (const id of ids) assert.equal((await waitForJob(h.viewer, id)).state, 'cancelled');
  assert.equal((await run(h.operator, 'explode')).status, 202, 'slots are free again');
});
