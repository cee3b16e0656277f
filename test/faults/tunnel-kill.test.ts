/**
 * The SSH connection cut from the server side in the middle of
 * `opsctl migrate up --yes`: the per-connection sshd process that serves the
 * CLI, on the service host (and, second, on the bastion), is killed by PID
 * while the migration job runs
 * (demo-service --slow-migrations). The job belongs to the service
 * (README, "Long work"), so it completes exactly once; the CLI exits 5
 * (connection) and prints the command that re-attaches; that command, and
 * `jobs status` / `jobs wait`, report the success.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startStack, CLI, ROOT, type Stack } from '../helpers/stack.js';
import { sshdConnectionProcesses } from '../helpers/sshd.js';

const SLOW_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function auditLines(s: Stack): Array<Record<string, unknown>> {
  return fs.readFileSync(s.service.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function appliedRows(s: Stack): Array<{ name: string }> {
  const db = new Database(path.join(s.service.dataDir, 'orders.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT name FROM migrations ORDER BY name').all() as Array<{ name: string }>;
  } finally {
    db.close();
  }
}

async function until<T>(what: string, ms: number, fn: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function killMidMigration(t: TestContext, hop: 'host' | 'bastion'): Promise<void> {
  const stack = await startStack(t, { demoArgs: ['--slow-migrations', String(SLOW_MS)] });
  if (!stack) return;
  const sshd = hop === 'host' ? stack.host : stack.bastion;
  t.after(() => stack.stop());
  stack.writeContext('faults');

  const status0 = await stack.cli(['migrate', 'status', '-o', 'json']);
  assert.equal(status0.code, 0, status0.stderr);
  const pending: string[] = JSON.parse(status0.stdout).pending.map((m: { name: string } | string) => (typeof m === 'string' ? m : m.name));
  assert.equal(pending.length, 3, status0.stdout);
  // The status run's own connection may take a moment to wind down (and be reaped).
  await until(`no connection left open on the ${hop} before the run`, 10_000, () => (sshdConnectionProcesses(sshd.pid).length === 0 ? true : undefined));

  const cli = spawn(process.execPath, [CLI, 'migrate', 'up', '--yes'], { cwd: ROOT, env: stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  cli.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  cli.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => cli.once('exit', (code) => resolve({ code, at: Date.now() })));
  t.after(() => { if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL'); });

  // The job has started once the CLI names it; it is then following it.
  const jobId = await until('the CLI to name its job', 60_000, () => /as job (\S+)/.exec(stderr)?.[1]);

  // The one connection on that sshd is the CLI's. After
  // authentication it is carried by one process: `sshd: USER@notty` below a
  // `sshd: USER [priv]` monitor for an ordinary user, `sshd: root` itself for
  // root (no post-auth privilege separation). Kill that process by PID.
  const procs = sshdConnectionProcesses(sshd.pid);
  const session = procs.filter((p) => /^sshd: [^\s[\]]+$/.test(p.title));
  assert.equal(session.length, 1, `one session process serves the CLI: ${JSON.stringify(procs)}`);
  const appliedAtKill = appliedRows(stack).length;
  process.kill(session[0]!.pid, 'SIGKILL');
  assert.ok(appliedAtKill < pending.length, `the kill lands in the middle of the migration (${appliedAtKill} of ${pending.length} applied)`);

  const { code, at: cliExitAt } = await Promise.race([
    exited,
    sleep(30_000).then(() => { throw new Error(`the CLI did not exit after the kill; stderr: ${stderr}`); }),
  ]);
  assert.equal(code, 5, `exit 5 (connection) when the tunnel dies; stdout: ${stdout} stderr: ${stderr}`);
  assert.match(stderr, new RegExp(`lost the event stream of job ${jobId} \\(.*\\); the job keeps running on the server`), stderr);
  if (hop === 'host') assert.match(stderr, /the connection to host .* was lost/, stderr);
  const hint = /Re-attach with: opsctl (.+)$/m.exec(stderr);
  assert.ok(hint, `the CLI prints the re-attach command: ${stderr}`);
  const reattachArgs = hint[1]!.trim().split(/\s+/);
  assert.ok(reattachArgs.includes(jobId), `the re-attach command names job ${jobId}: ${hint[0]}`);
  await until(`the killed connection to be gone on the ${hop}`, 10_000, () => (sshdConnectionProcesses(sshd.pid).length === 0 ? true : undefined));

  // The printed command, as an operator would paste it, follows the job to its end.
  const again = await stack.cli(reattachArgs);
  assert.equal(again.code, 0, `opsctl ${reattachArgs.join(' ')}: ${again.stderr}`);
  assert.match(again.stderr + again.stdout, new RegExp(`job ${jobId} succeeded`), again.stderr);

  const status = await stack.cli(['jobs', 'status', jobId, '-o', 'json']);
  assert.equal(status.code, 0, status.stderr);
  const job = JSON.parse(status.stdout) as { state: string; endedAt: string; endpoint: string };
  assert.equal(job.state, 'succeeded', status.stdout);
  assert.equal(job.endpoint, 'migrations.up', status.stdout);
  assert.ok(Date.parse(job.endedAt) > cliExitAt, `the CLI exited (${new Date(cliExitAt).toISOString()}) before the job ended (${job.endedAt}): it did not wait the job out`);
  const wait = await stack.cli(['jobs', 'wait', jobId]);
  assert.equal(wait.code, 0, `jobs wait on a succeeded job: ${wait.stderr}`);

  // Exactly once: every migration applied, each one once, by one request and one job.
  const status1 = await stack.cli(['migrate', 'status', '-o', 'json']);
  const after = JSON.parse(status1.stdout);
  assert.equal(after.pending.length, 0, status1.stdout);
  assert.equal(after.applied.length, 3, status1.stdout);
  assert.deepEqual(appliedRows(stack).map((r) => r.name), pending, 'the migrations table holds each migration once');
  for (const name of pending) {
    const ran: number = stack.service.stderr().split('\n').filter((l) => l.includes(`migrations: migrated ${name}`)).length;
    assert.equal(ran, 1, `${name} ran once (service log):\n${stack.service.stderr()}`);
  }
  const audit = auditLines(stack).filter((r) => r.endpoint === 'migrations.up');
  assert.equal(audit.filter((r) => r.outcome === 'accepted').length, 1, `one migrations.up accepted: ${JSON.stringify(audit)}`);
  const ends = audit.filter((r) => r.jobId === jobId && r.outcome !== 'accepted');
  assert.deepEqual(ends.map((r) => r.outcome), ['ok'], `one job completion recorded, ok: ${JSON.stringify(audit)}`);
}

test('the service host\'s sshd child killed mid `migrate up --yes`: exit 5 with the re-attach command, the migration completes exactly once, re-attaching reports success', (t) => killMidMigration(t, 'host'));

test('the bastion\'s sshd child killed mid `migrate up --yes`: the same', (t) => killMidMigration(t, 'bastion'));
