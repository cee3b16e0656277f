/**
 * metrics (text, JSON, --filter, --watch) and audit (tail, --follow, verify)
 * against a real internal port and its real hash-chained audit log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileHarness } from '../helpers/cli-harness.js';
import { run as metrics } from '../../src/cli/commands/metrics/metrics.js';
import { run as auditTail } from '../../src/cli/commands/audit/tail.js';
import { reportError } from '../../src/cli/errors/exit-code.js';

const h = fileHarness();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('metrics: Prometheus text, filtered by name with whole families kept', async () => {
  await h.run(['health']);
  const all = await h.run(['metrics'], { as: 'viewer' });
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^# TYPE opsctl_internal_requests_total counter$/m);
  const f = await h.run(['metrics', '--filter', 'request_duration'], { as: 'viewer' });
  assert.match(f.stdout, /^# TYPE opsctl_internal_request_duration_seconds histogram$/m);
  assert.match(f.stdout, /^opsctl_internal_request_duration_seconds_bucket\{/m);
  assert.doesNotMatch(f.stdout, /opsctl_internal_requests_total/);
  const none = await h.run(['metrics', '--filter', '^nothing_here$'], { as: 'viewer' });
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /no metric name matches/);
});

test('metrics -o json: the JSON form, filtered', async () => {
  const r = await h.run(['-o', 'json', 'metrics', '--filter', '^opsctl_internal_jobs$'], { as: 'viewer' });
  assert.equal(r.code, 0, r.stderr);
  const doc = r.json().metrics;
  assert.ok(Array.isArray(doc));
  assert.deepEqual(doc.map((m: { name: string }) => m.name), ['opsctl_internal_jobs']);
  assert.ok(doc[0].values.some((v: { labels: { state: string } }) => v.labels.state === 'running'));
});

async function watch(opts: { tty: boolean; json?: boolean; ms: number; frames: RegExp }) {
  const bench = h.factory({ as: 'viewer', tty: opts.tty, globals: { output: opts.json ? 'json' : 'table' } });
  const ac = new AbortController();
  const done = metrics(bench.f, { watch: true, interval: 0.2, filter: 'requests_total', interrupt: ac.signal });
  // At least opts.ms, and until two frames are out (a loaded machine is slow).
  await sleep(opts.ms);
  for (let i = 0; i < 100 && (bench.io.stdout().match(opts.frames) ?? []).length < 2; i++) await sleep(50);
  ac.abort();
  // Ctrl-C ends a watch: exit 130, as for every interrupted command.
  assert.equal(reportError(await done.then(() => undefined, (e: unknown) => e)).exitCode, 130);
  await bench.close();
  return bench.io;
}

test('metrics --watch: repeats when piped, redraws on a terminal, NDJSON under -o json; Ctrl-C ends it with 130', async () => {
  const piped = await watch({ tty: false, ms: 450, frames: /^# \d{4}-/gm });
  const frames = piped.stdout().match(/^# \d{4}-\d\d-\d\dT/gm) ?? [];
  assert.ok(frames.length >= 2, `several frames: ${frames.length}`);
  assert.doesNotMatch(piped.stdout(), /\x1b\[2J/);
  const tty = await watch({ tty: true, ms: 450, frames: /\x1b\[H\x1b\[2J/g });
  assert.ok((tty.stdout().match(/\x1b\[H\x1b\[2J/g) ?? []).length >= 2, 'screen redrawn');
  assert.match(tty.stdout(), /opsctl_internal_requests_total/);
  const json = await watch({ tty: false, json: true, ms: 450, frames: /^\{/gm });
  const lines = json.stdout().trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 2);
  assert.equal(lines[0].metrics[0].name, 'opsctl_internal_requests_total');
});

test('audit tail: newest N records, oldest first; JSON {records}', async () => {
  const r = await h.run(['audit', 'tail', '-n', '3']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'SEQ\tTIME\tWHO\tENDPOINT\tOUTCOME\tSTATUS\tJOB\tREASON');
  assert.equal(lines.length, 4);
  const j = (await h.run(['-o', 'json', 'audit', 'tail', '-n', '5'])).json();
  assert.equal(j.records.length, 5);
  const seqs = j.records.map((x: { seq: number }) => x.seq);
  assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => a - b));
  assert.match(j.records[0].hash, /^[0-9a-f]{64}$/);
});

test('audit tail --follow prints new records as they come (NDJSON under -o json), not its own polls', async () => {
  await h.auditSettled();
  const bench = h.factory({ globals: { output: 'json' } });
  const ac = new AbortController();
  const done = auditTail(bench.f, { limit: 1, follow: true, pollMs: 100, interrupt: ac.signal });
  await sleep(250);
  assert.equal((await h.run(['flags', 'set', 'greeting', 'followed'], { as: 'operator' })).code, 0);
  await sleep(400);
  ac.abort();
  assert.equal(reportError(await done.then(() => undefined, (e: unknown) => e)).exitCode, 130, 'Ctrl-C: 130');
  await bench.close();
  const records = bench.io.stdout().trim().split('\n').map((l) => JSON.parse(l));
  const set = records.find((r) => r.endpoint === 'flags.set');
  assert.ok(set, 'the new flags.set record was printed');
  assert.equal(set.principal, 'oscar');
  // records[0] is the -n 1 tail it started with; everything after it is new.
  assert.equal(records.slice(1).filter((r) => r.endpoint === 'audit.tail').length, 0, 'its own polls are not echoed');
  const seqs = records.map((r) => r.seq);
  assert.equal(new Set(seqs).size, seqs.length, 'no record printed twice');
});

test('audit verify: intact → exit 0; an edited record → exit 1 naming it', async () => {
  const ok = await h.run(['audit', 'verify']);
  assert.equal(ok.code, 0, ok.stderr);
  // The counts agree: the witnessed checkpoint covers no record the walk did not verify.
  const verified = Number(/audit log intact: (\d+) records? verified/.exec(ok.stderr)?.[1]);
  const newest = Number(/the newest, of \S+, covers the first (\d+) records?/.exec(ok.stderr)?.[1]);
  const witnessed = Number(/witness: checkpoint of \S+ over the first (\d+) records? of those/.exec(ok.stderr)?.[1]);
  assert.ok(verified > 0 && witnessed > 0 && witnessed <= verified, ok.stderr);
  assert.equal(newest, witnessed, `the witnessed checkpoint is the newest one the walk verified:\n${ok.stderr}`);
  const doc = (await h.run(['-o', 'json', 'audit', 'verify'])).json();
  assert.ok(doc.witness.checkpoint.size <= doc.records, JSON.stringify(doc));
  assert.ok(doc.lastCheckpoint.size >= doc.witness.checkpoint.size, JSON.stringify(doc));
  assert.equal((await h.run(['audit', 'verify'], { as: 'operator' })).code, 3);

  await h.auditSettled();
  const lines = fs.readFileSync(h.auditFile, 'utf8').split('\n');
  // The first `ok` record (each command's first request is a denied
  // auth.instance while the CLI learns the port's instance id).
  const i = lines.findIndex((l) => l.includes('"outcome":"ok"'));
  assert.ok(i >= 0);
  lines[i] = lines[i]!.replace('"outcome":"ok"', '"outcome":"denied"');
  fs.writeFileSync(h.auditFile, lines.join('\n'));
  // --full: the walks above verified a checkpoint after this record, so a
  // plain verify would start from there (what was verified is not walked
  // again: src/server/README.md, audit verification).
  const bad = await h.run(['audit', 'verify', '--full']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, new RegExp(`the audit log is broken at line ${i + 1} \\(record seq ${i + 1}\\): hash does not match the record \\(edited\\)`));
  const json = await h.run(['-o', 'json', 'audit', 'verify', '--full']);
  assert.equal(json.code, 1);
  assert.equal(json.json().ok, false);
  assert.equal(json.json().firstBadRecord.line, i + 1);
});
