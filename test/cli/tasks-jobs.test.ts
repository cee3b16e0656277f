/**
 * tasks run and the jobs commands against a real internal port: typed
 * --param, destructive tasks (4 without confirmation, nothing run), following
 * a job (NDJSON under -o json, exit 1 when it fails or is cancelled), Ctrl-C
 * detaching without cancelling (130), a dropped stream (5), re-attaching.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness, stripAnsi } from '../helpers/cli-harness.js';
import type { DirectTunnel } from '../helpers/direct-tunnel.js';
import { run as runTask } from '../../src/cli/commands/tasks/run.js';
import { run as jobsLogs } from '../../src/cli/commands/jobs/logs.js';
import { reportError } from '../../src/cli/errors/exit-code.js';

const h = fileHarness();

const runs = (name: string) => h.counters.runs.get(name) ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function jobState(id: string): Promise<string> {
  const r = await h.run(['-o', 'json', 'jobs', 'status', id], { as: 'viewer' });
  const state = r.json().state;
  // jobs status exits 1 for a job that failed or was cancelled.
  assert.equal(r.code, state === 'failed' || state === 'cancelled' ? 1 : 0, r.stderr);
  return state;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function runningJob(name: string): Promise<string> {
  return waitFor(async () => {
    const r = await h.run(['-o', 'json', 'jobs', 'list'], { as: 'viewer' });
    return (r.json().jobs as Array<{ id: string; name?: string; state: string }>).find((j) => j.name === name && j.state === 'running')?.id;
  }, `a running ${name} job`);
}

test('--param values are typed by the task schema; --follow -o json streams NDJSON ending with the result', async () => {
  const r = await h.run(['-o', 'json', 'tasks', 'run', 'count', '--param', 'steps=4', '--param', 'label=007', '--param', 'tags=["a","b"]', '--param', 'ratio=0.5', '--param', 'fail=no', '--follow'], { as: 'operator' });
  assert.equal(r.code, 0, r.stderr);
  const events = r.ndjson();
  assert.equal(events.filter((e) => e.type === 'progress').length, 4);
  assert.equal(events.filter((e) => e.type === 'log').length, 4);
  const end = events.at(-1);
  assert.equal(end.type, 'end');
  assert.deepEqual(end.result, { counted: 4, label: '007', tags: ['a', 'b'], ratio: 0.5 });
  const rec = (await h.auditSettled()).find((x) => x.endpoint === 'tasks.run' && x.params?.params?.steps === 4);
  assert.deepEqual(rec?.params.params, { steps: 4, label: '007', tags: ['a', 'b'], ratio: 0.5, fail: false });
});

test('human --follow: logs on stdout, progress on stderr; a terminal gets a redrawn bar', async () => {
  const piped = await h.run(['tasks', 'run', 'count', '--param', 'steps=2', '-f'], { as: 'operator' });
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdout, /^counted 1\ncounted 2\n/);
  assert.match(piped.stdout, /"counted": 2/);
  assert.match(piped.stderr, /progress 100% 2\/2 step 2/);
  assert.match(piped.stderr, /✓ job \S+ succeeded/);
  const tty = await h.run(['tasks', 'run', 'count', '--param', 'steps=3', '--param', 'delayMs=150', '-f'], { as: 'operator', tty: true });
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(tty.stderr, /\r\x1b\[2K/, 'status line redrawn in place');
  assert.match(stripAnsi(tty.stderr), /task count \S+ {2}running {2}[█░]{20} +\d+%/);
});

test('bad params are usage errors and nothing runs', async () => {
  const before = runs('count');
  const cases: Array<[string[], RegExp]> = [
    [['tasks', 'run', 'count', '--param', 'stepz=3'], /unknown param "stepz" for task "count"; known: steps, delayMs, fail, label, tags, ratio/],
    [['tasks', 'run', 'count', '--param', 'steps=many'], /--param steps: expected an integer/],
    [['tasks', 'run', 'count', '--param', 'tags=a,b'], /--param tags: expected a JSON array/],
    [['tasks', 'run', 'nosuch'], /no task named "nosuch"; tasks: count, purge, rotate, wait/],
    [['tasks', 'run', 'purge', '--yes'], /task "purge" needs --param olderThanDays=…/],
    [['jobs', 'status', 'no/such'], /invalid job id "no\/such"/],
    [['flags', 'set', 'bad name', '1'], /invalid flag name "bad name"/],
  ];
  for (const [argv, re] of cases) {
    const r = await h.run(argv, { as: 'operator' });
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.equal(runs('count'), before);
});

test('a destructive task: exit 4 without a terminal or --yes and it never runs; confirmed on a terminal it runs', async () => {
  const no = await h.run(['tasks', 'run', 'purge', '--param', 'olderThanDays=30']);
  assert.equal(no.code, 4, no.stderr);
  assert.equal(runs('purge'), 0);
  assert.ok(!(await h.auditSettled()).some((r) => r.endpoint === 'tasks.run' && r.params?.name === 'purge'), 'no run request was sent');

  const declined = await h.run(['tasks', 'run', 'purge', '--param', 'olderThanDays=30'], { tty: true, answers: [{ when: /Run task purge on test\?/, send: 'n' }] });
  assert.equal(declined.code, 4);
  assert.equal(runs('purge'), 0);

  const yes = await h.run(['tasks', 'run', 'purge', '--param', 'olderThanDays=30', '--follow'], { tty: true, answers: [{ when: /Run task purge on test\?/, send: 'y' }] });
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(stripAnsi(yes.stderr), /task "purge" is destructive: Deletes old rows[\s\S]*params: \{"olderThanDays":30\}/);
  assert.match(yes.stdout, /"purged": 2/);
  assert.equal(runs('purge'), 1);

  const id = await h.run(['--yes', 'tasks', 'run', 'purge', '--param', 'olderThanDays=1']);
  assert.equal(id.code, 0);
  assert.match(id.stdout, /^[A-Za-z0-9_-]+\n$/, 'just the job id on stdout');
  assert.match(id.stderr, /Follow with: opsctl jobs logs \S+ --follow/);
});

test('a failed job exits 1; jobs status/logs re-read it; -o json logs are NDJSON', async () => {
  const r = await h.run(['tasks', 'run', 'count', '--param', 'fail=true', '-f'], { as: 'operator' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /opsctl: job (\S+) failed: count failed on purpose/);
  assert.equal(r.stderr.match(/count failed on purpose/g)?.length, 1, `the failure is said once:\n${r.stderr}`);
  const id = /opsctl: job (\S+) failed/.exec(r.stderr)![1]!;

  const status = await h.run(['jobs', 'status', id], { as: 'viewer' });
  assert.equal(status.code, 1, 'a failed job is a failure for jobs status too');
  assert.match(status.stderr, new RegExp(`^opsctl: job ${id} failed\n$`));
  assert.match(status.stdout, /^state\s+failed$/m);
  assert.match(status.stdout, /^error\s+count failed on purpose/m);
  assert.match(status.stdout, /^what\s+tasks\.run count$/m);

  const logs = await h.run(['jobs', 'logs', id], { as: 'viewer' });
  assert.equal(logs.code, 1, 'the history ended in failure: exit 1 without --follow too');
  assert.match(logs.stdout, /counted 3/);
  const followed = await h.run(['jobs', 'logs', id, '--follow'], { as: 'viewer' });
  assert.equal(followed.code, 1, 'with --follow the final state decides');

  const json = await h.run(['-o', 'json', 'jobs', 'logs', id], { as: 'viewer' });
  const events = json.ndjson();
  assert.equal(events.at(-1).type, 'end');
  assert.equal(events.at(-1).state, 'failed');
  assert.ok(events.every((e) => e.jobId === id), 'every NDJSON event names its job');
});

test('jobs logs without --follow on a running job shows the history and says it is still running', async () => {
  const started = await h.run(['tasks', 'run', 'wait'], { as: 'operator' });
  const id = started.stdout.trim();
  const logs = await h.run(['jobs', 'logs', id], { as: 'viewer' });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stderr, new RegExp(`job ${id} is still running; follow it with: opsctl jobs logs ${id} --follow`));
  assert.equal(await jobState(id), 'running');

  assert.equal((await h.run(['jobs', 'cancel', id], { as: 'viewer' })).code, 3, 'cancel is operator-level');
  const cancel = await h.run(['jobs', 'cancel', id], { as: 'operator' });
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stderr, /cancel requested for job/);
  const end = await h.run(['jobs', 'logs', id, '--follow'], { as: 'viewer' });
  assert.equal(end.code, 1);
  assert.match(end.stderr, /job \S+ cancelled/);
  assert.equal(await jobState(id), 'cancelled');
});

test('Ctrl-C while following detaches (130) with a re-attach hint; the job keeps running', async () => {
  const bench = h.factory({ as: 'operator' });
  const ac = new AbortController();
  const done = runTask(bench.f, { task: 'wait', params: [], follow: true, interrupt: ac.signal });
  const id = await runningJob('wait');
  await waitFor(async () => (/running/.test(bench.io.stderr()) ? true : undefined), 'the follower to see the job run');
  ac.abort();
  const err = await done.then(() => undefined, (e: unknown) => e);
  await bench.close();
  const report = reportError(err);
  assert.equal(report.exitCode, 130);
  assert.equal(report.message, 'detached; the job keeps running.');
  assert.equal(report.hint, `Re-attach with: opsctl jobs logs ${id} --follow`);
  assert.equal(await jobState(id), 'running', 'detaching did not cancel the job');
  assert.equal((await h.run(['jobs', 'cancel', id], { as: 'operator' })).code, 0);
});

test('a real SIGINT detaches the same way', async () => {
  const bench = h.factory({ as: 'operator' });
  const done = jobsLogs(bench.f, { id: (await h.run(['tasks', 'run', 'wait'], { as: 'operator' })).stdout.trim(), follow: true });
  await waitFor(async () => (/running/.test(bench.io.stderr()) ? true : undefined), 'the follower');
  const listeners = process.listenerCount('SIGINT');
  assert.ok(listeners >= 1, 'the follower listens for Ctrl-C');
  process.kill(process.pid, 'SIGINT');
  const err = await done.then(() => undefined, (e: unknown) => e);
  await bench.close();
  assert.equal(reportError(err).exitCode, 130);
  assert.equal(process.listenerCount('SIGINT'), listeners - 1, 'the listener is removed again');
  const id = await runningJob('wait');
  assert.equal((await h.run(['jobs', 'cancel', id], { as: 'operator' })).code, 0);
});

test('the tunnel dies while following: exit 5, the job keeps running, the hint says how to re-attach', async () => {
  let tunnel: DirectTunnel | undefined;
  const pending = h.run(['tasks', 'run', 'wait', '--follow'], { as: 'operator', onTunnel: (t) => (tunnel = t) });
  const id = await runningJob('wait');
  await sleep(100);
  tunnel!.drop();
  const r = await pending;
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /lost the event stream of job \S+ .*the job keeps running on the server/);
  assert.match(r.stderr, new RegExp(`Re-attach with: opsctl jobs logs ${id} --follow`));
  assert.equal(await jobState(id), 'running');
  assert.equal((await h.run(['jobs', 'cancel', id], { as: 'operator' })).code, 0);
});

test('the service closes the stream while the connection stays up: the follower re-attaches, shows each event once, and ends with the job', async () => {
  let tunnel: DirectTunnel | undefined;
  const pending = h.run(['-o', 'json', 'tasks', 'run', 'count', '--param', 'steps=6', '--param', 'delayMs=300', '--follow'], { as: 'operator', onTunnel: (t) => (tunnel = t) });
  await runningJob('count');
  await sleep(800);
  const before = tunnel!.channelsOpened;
  tunnel!.cutChannels();
  const r = await pending;
  assert.equal(r.code, 0, `re-attached and saw the job succeed:\n${r.stderr}`);
  assert.ok(tunnel!.channelsOpened > before, `a new channel carried the re-attached stream (${before} → ${tunnel!.channelsOpened})`);
  const events = r.ndjson();
  const logs = events.filter((e) => e.type === 'log').map((e) => e.message);
  assert.deepEqual(logs, ['counted 1', 'counted 2', 'counted 3', 'counted 4', 'counted 5', 'counted 6'], `every log line once, in order: ${JSON.stringify(events)}`);
  assert.equal(events.filter((e) => e.type === 'end').length, 1, 'one end');
  assert.equal(events.at(-1)?.result?.counted, 6, `the job's result: ${JSON.stringify(events.at(-1))}`);
});
