/**
 * A line-by-line consumer (a runbook's `while read`) of a fleet's --follow
 * -o json, on real hosts (test/helpers/fleet.ts): every stdout line is one
 * JSON object — the hosts' events, then one {"type":"summary"} line — never a
 * pretty-printed document after the NDJSON.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fleetMissing, startFleet, type Fleet } from '../helpers/fleet.js';

const missing = fleetMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let fleet: Fleet;
before(async () => {
  if (skip) return;
  fleet = await startFleet({ hosts: 2 });
  for (const h of ['node0', 'node1']) assert.equal((await fleet.opsctl(['--host', h, 'migrate', 'up', '--yes'])).code, 0, `migrate ${h}`);
});
after(async () => {
  await fleet?.stop();
});

test('--follow -o json on a fleet: every stdout line is one JSON object, events tagged with their host, a summary line last', { skip }, async () => {
  // What a runbook's `while read line` does: parse each line on its own.
  const lines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      throw new Error(`not one JSON object per line: ${JSON.stringify(l)}\n--- stdout:\n${stdout}`);
    }
  });
  const r = await fleet.opsctl(['tasks', 'run', 'recompute-totals', '--param', 'pauseMs=0', '--yes', '--follow', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const events = lines(r.stdout);
  const summary = events.at(-1)!;
  assert.equal(summary.type, 'summary');
  assert.deepEqual(summary.summary, { ok: 2, failed: 0, skipped: 0 });
  assert.deepEqual(summary.hosts.map((h: { host: string }) => h.host), ['node0', 'node1']);
  for (const host of ['node0', 'node1']) {
    const ends = events.filter((e) => e.host === host && e.type === 'end');
    assert.equal(ends.length, 1, `one end event from ${host}`);
    assert.equal(ends[0]!.state, 'succeeded');
  }
  // jobs logs goes to the job's host (node1): its events, then the summary line.
  const id = events.find((e) => e.host === 'node1')!.jobId as string;
  const logs = await fleet.opsctl(['jobs', 'logs', id, '--follow', '-o', 'json']);
  assert.equal(logs.code, 0, logs.stderr);
  const logLines = lines(logs.stdout);
  assert.equal(logLines.at(-1)!.type, 'summary');
  assert.ok(logLines.slice(0, -1).every((e) => e.host === 'node1' && e.jobId === id), logs.stdout);
});
