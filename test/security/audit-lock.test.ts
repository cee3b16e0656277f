/**
 * Weakness: the audit log's one-writer lock was a pid file. After a crash
 * and a reboot, or in a container (pid 1 every time), the pid in a stale
 * file can belong to another live process, and the service then refused to
 * start until someone deleted the file by hand.
 *
 * Attack, with real processes: a `<log>.lock` pid file naming a live,
 * unrelated process; a holder killed with SIGKILL; a live holder in
 * another process; several processes starting on one log at the same
 * moment, round after round.
 *
 * Expected: the lock is a listening unix socket the kernel closes when its
 * holder dies: no stale lock ever blocks a start, a live holder always
 * does (the refusal names its pid), and of starters that overlap exactly
 * one holds the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { tempDir } from '../server/fixtures/harness.js';

const AUDIT_LOG_JS = path.join(ROOT, 'dist/src/server/audit/audit-log.js');

/**
 * A process that opens the audit log at `startAt` (ms since the epoch), says
 * `held PID` or `refused MESSAGE` on stdout, and keeps the log until killed
 * (or exits after `holdMs`).
 */
function starter(log: string, startAt: number, holdMs = 60_000): { proc: ChildProcess; said: Promise<string> } {
  const code = `
    const { AuditLog } = await import(${JSON.stringify(AUDIT_LOG_JS)});
    const { generateKeyPairSync } = await import('node:crypto');
    const signingKey = generateKeyPairSync('ed25519').privateKey;
    while (Date.now() < ${startAt}) await new Promise((r) => setTimeout(r, 1));
    try {
      const a = await AuditLog.open(${JSON.stringify(log)}, () => {}, { signingKey });
      await a.append({ requestId: 'held-by-' + process.pid, outcome: 'ok' });
      process.stdout.write('held ' + process.pid + '\\n');
      setTimeout(async () => { await a.close(); process.exit(0); }, ${holdMs});
    } catch (e) {
      process.stdout.write('refused ' + e.message + '\\n');
      process.exit(3);
    }`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const said = new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.once('exit', (c) => { if (!out.includes('\n')) reject(new Error(`starter exited ${c} without a word`)); });
  });
  return { proc, said };
}

const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));

test('a pid file naming a live unrelated process does not block the start', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-sec-lock-');
  const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const log = path.join(dir, 'audit.jsonl');
    // What the earlier lock left after a crash, its pid now someone else's.
    fs.writeFileSync(`${log}.lock`, `${unrelated.pid} 12345678\n`, { mode: 0o600 });
    const s = starter(log, Date.now(), 0);
    assert.match(await s.said, /^held \d+$/);
    await exited(s.proc);
  } finally {
    unrelated.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a holder killed with SIGKILL leaves no lock the next start must wait for or clean up; a live holder in another process is refused by pid', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-sec-lock-');
  try {
    const log = path.join(dir, 'audit.jsonl');
    const first = starter(log, Date.now());
    assert.equal(await first.said, `held ${first.proc.pid}`);
    // A live holder blocks, and is named.
    const second = starter(log, Date.now(), 0);
    const refusal = await second.said;
    assert.match(refusal, new RegExp(`^refused audit log .* is in use by process ${first.proc.pid} `));
    await exited(second.proc);
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    assert.ok(fs.readdirSync(dir).some((n) => n.startsWith('audit.jsonl.lock.')), 'the dead holder\'s socket file is still there');
    // No waiting, no hand work: the next start takes the log at once.
    const third = starter(log, Date.now());
    assert.equal(await third.said, `held ${third.proc.pid}`);
    const entries = fs.readdirSync(dir).filter((n) => n.includes('.lock'));
    assert.equal(entries.length, 1, `only the live holder's entry is left: ${entries.join(', ')}`);
    assert.equal(fs.lstatSync(path.join(dir, entries[0]!)).mode & 0o777, 0o600);
    third.proc.kill('SIGTERM');
    await exited(third.proc);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('several processes starting on one log at the same moment: exactly one holds it, the others name it', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-sec-lock-');
  try {
    const log = path.join(dir, 'audit.jsonl');
    for (let round = 0; round < 6; round++) {
      // Node takes a while to start on a loaded machine: meet well in the future.
      const at = Date.now() + 1500;
      const starters = [0, 1, 2].map(() => starter(log, at));
      const said = await Promise.all(starters.map((s) => s.said));
      const held = said.filter((w) => w.startsWith('held'));
      assert.equal(held.length, 1, `round ${round}: ${said.join(' | ')}`);
      const holderPid = held[0]!.split(' ')[1];
      for (const w of said.filter((x) => x.startsWith('refused'))) assert.match(w, new RegExp(`in use by process ${holderPid} `), `round ${round}`);
      for (const s of starters) s.proc.kill('SIGKILL');
      await Promise.all(starters.map((s) => exited(s.proc)));
    }
    const records = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    assert.equal(records.length, 6, 'one writer per round');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
