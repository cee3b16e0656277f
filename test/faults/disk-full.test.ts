/**
 * The demo service's whole data dir (audit log, flag file, database, audit
 * key) on a small real tmpfs, filled to the last byte, driven by the built
 * CLI through a real OpenSSH bastion and service host:
 *
 * - while full, `opsctl flags set` and other mutations fail with a clear
 *   503 — `audit.unavailable` (the audit record cannot be written, so nothing
 *   runs) or `store.unavailable` (the flag file cannot be replaced, the flag
 *   keeps its value) — exit 1 as the README table says; reads still answer;
 * - nothing is half-written: the flag file parses and holds the last value
 *   that was reported saved, no temp file is left, the audit log ends on a
 *   newline and every line is a whole record;
 * - once the filler is deleted the same process (no restart) takes the next
 *   mutation, records it whole, and `opsctl audit verify` (live and `--file`
 *   on a copy) passes, listing every repair record the log holds.
 *
 * The in-process variant with only the audit log on tmpfs is
 * test/server/audit-integrity.test.ts; this one is end to end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, type Stack, type CliResult } from '../helpers/stack.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-disk-'));
const mnt = path.join(root, 'mnt');
const dataDir = path.join(mnt, 'data');
const auditLog = path.join(dataDir, 'audit.log');
const flagFile = path.join(dataDir, 'flags.json');
const filler = path.join(mnt, 'filler');
let mounted = false;
let whyNot: string | undefined;
let stack: Stack | undefined;

before(async (t) => {
  fs.mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (e) {
    whyNot = `cannot mount a tmpfs for the disk-full test (needs root): ${(e as Error).message}`;
    if (CI) throw new Error(`CI: ${whyNot}`, { cause: e });
    return;
  }
  stack = await startStack(t as never, { demoArgs: ['--no-approvals', '--data-dir', dataDir] });
});

after(async () => {
  await stack?.stop();
  if (mounted) execFileSync('umount', [mnt]);
  fs.rmSync(root, { recursive: true, force: true });
});

const cli = (args: string[]): Promise<CliResult> => stack!.cli([...stack!.connection, ...args]);
const auditLines = (): string[] => fs.readFileSync(auditLog, 'utf8').split('\n').filter(Boolean);
const storedValue = (): unknown => (JSON.parse(fs.readFileSync(flagFile, 'utf8')) as { flags: Record<string, { value: unknown }> }).flags.max_page_size?.value;

/** Fills the file system to its last byte (whole blocks, then single bytes). */
function fill(): void {
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024, 120);
  try { for (;;) fs.writeSync(fd, block); } catch { /* ENOSPC */ }
  try { for (;;) fs.writeSync(fd, block, 0, 1); } catch { /* ENOSPC */ }
  fs.closeSync(fd);
}

/** The -o json error object on stderr of a failed run. */
function errorOf(r: CliResult): { code: string; status: number | null; exitCode: number; message: string } {
  try {
    return (JSON.parse(r.stderr) as { error: { code: string; status: number | null; exitCode: number; message: string } }).error;
  } catch {
    throw new Error(`stderr is not one JSON error object:\n${r.stderr}`);
  }
}

/** Nothing half-written: the flag file parses with `value`, no temp files, every audit line whole. */
function assertWhole(value: number, when: string): void {
  assert.equal(storedValue(), value, `${when}: the flag file parses and holds ${value}`);
  assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.endsWith('.tmp')), [], `${when}: no temp file left in the data dir`);
  const text = fs.readFileSync(auditLog, 'utf8');
  assert.ok(text.endsWith('\n'), `${when}: the audit log ends on a newline (no half record): ${JSON.stringify(text.slice(-200))}`);
  for (const line of auditLines()) assert.doesNotThrow(() => JSON.parse(line), `${when}: every audit line is a whole record: ${line.slice(0, 200)}`);
}

test('a full data dir: clear 503s and exit 1, nothing half-written; space back: the same process records the next change whole and verify passes', async (t) => {
  if (!stack) return t.skip(whyNot ?? 'no sshd');
  const pid = stack.service.proc.pid;
  const first = await cli(['--reason', 'before the disk fills', 'flags', 'set', 'max_page_size', '42']);
  assert.equal(first.code, 0, first.stderr);
  assertWhole(42, 'before');

  fill();
  t.diagnostic(`filler: ${fs.statSync(filler).size} bytes; data dir: ${fs.readdirSync(dataDir).join(', ')}`);
  let saved = 42;
  const codes: string[] = [];
  for (let i = 0; i < 12 && codes.filter((c) => c === 'audit.unavailable').length < 2; i++) {
    const value = 43 + i;
    const r = await cli(['-o', 'json', 'flags', 'set', 'max_page_size', String(value)]);
    if (r.code === 0) {
      // The last page of a file may still have room for a record or two.
      saved = value;
      continue;
    }
    const err = errorOf(r);
    assert.equal(r.code, 1, `a 503 is exit 1 (README): ${r.stderr}`);
    assert.equal(err.status, 503, `503: ${r.stderr}`);
    assert.equal(err.exitCode, 1, r.stderr);
    assert.ok(['audit.unavailable', 'store.unavailable'].includes(err.code), `a documented code, not internal: ${r.stderr}`);
    assert.doesNotMatch(err.message, new RegExp(mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), `the answer names no path: ${err.message}`);
    codes.push(err.code);
    assertWhole(saved, `after refusal ${codes.length} (${err.code})`);
  }
  t.diagnostic(`refusals while full: ${codes.join(', ')}`);
  assert.ok(codes.includes('audit.unavailable'), `once the audit log cannot grow every mutation is refused: ${codes.join(', ')}`);

  // The human message says what happened and what it means.
  const human = await cli(['flags', 'set', 'max_page_size', '99']);
  assert.equal(human.code, 1, human.stderr);
  assert.match(human.stderr, /audit log cannot be written, so nothing that changes state may run \[audit\.unavailable, HTTP 503\]/, `one clear line:\n${human.stderr}`);
  // Another kind of mutation: a task, refused before it runs.
  const task = await cli(['-o', 'json', 'tasks', 'run', 'recompute-totals', '--follow']);
  assert.equal(task.code, 1, task.stderr);
  assert.equal(errorOf(task).code, 'audit.unavailable', task.stderr);
  // Reads still answer, with the value that was saved.
  const get = await cli(['-o', 'json', 'flags', 'get', 'max_page_size']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal((JSON.parse(get.stdout) as { value: unknown }).value, saved, `the service serves the saved value: ${get.stdout}`);
  assertWhole(saved, 'while full');
  const beforeSpace = auditLines().length;

  fs.rmSync(filler);
  const back = await cli(['--reason', 'space is back', 'flags', 'set', 'max_page_size', '77']);
  assert.equal(back.code, 0, `the next mutation succeeds without a restart:\n${back.stderr}`);
  assert.equal(stack.service.proc.pid, pid, 'the same process');
  assert.equal(stack.service.proc.exitCode, null, 'still running');
  assertWhole(77, 'after space returned');
  const added = auditLines().slice(beforeSpace).map((l) => JSON.parse(l) as Record<string, any>);
  const rec = added.find((x) => x.endpoint === 'flags.set' && x.outcome === 'ok');
  assert.ok(rec, `the change is recorded: ${JSON.stringify(added)}`);
  assert.equal(rec.reason, 'space is back', 'with its reason');
  assert.equal(rec.params?.value, 77, `and its value: ${JSON.stringify(rec.params)}`);

  const v = await cli(['-o', 'json', 'audit', 'verify', '--full']);
  assert.equal(v.code, 0, `verify passes:\n${v.stdout}\n${v.stderr}`);
  const result = JSON.parse(v.stdout) as { ok: boolean; records?: number; repairs?: Array<{ seq: number }> };
  assert.equal(result.ok, true, v.stdout);
  const repairs = auditLines().map((l) => JSON.parse(l) as Record<string, any>).filter((x) => x.type === 'repair');
  assert.deepEqual((result.repairs ?? []).map((x) => x.seq), repairs.map((x) => x.seq), `verify names every repair record: ${v.stdout}`);
  t.diagnostic(`verify: ${result.records} records, repairs: ${JSON.stringify(result.repairs ?? [])}`);

  // A copy checked offline says the same.
  const copy = path.join(stack.dir, 'audit-copy.log');
  fs.copyFileSync(auditLog, copy);
  const offline = await cli(['audit', 'verify', '--file', copy]);
  assert.equal(offline.code, 0, `offline verify passes:\n${offline.stdout}\n${offline.stderr}`);
});
