/**
 * The demo service restarted — killed and started again on the same data dir
 * and internal port — while an operator follows a job with the built CLI
 * through a real OpenSSH bastion and service host. The SSH connection stays
 * up; only the service behind it goes away. What the operator gets (README,
 * "Long work"; docs/protocol.md, "Requests and answers"):
 *
 * - killed (SIGKILL) and back within --timeout: the CLI re-attaches, learns
 *   the new `Opsctl-Instance` once, finds the job gone with the process that
 *   ran it, and says so: exit 1, `job.lost`, naming both instances and where
 *   to look, never a bare 404 or a re-attach hint that cannot work;
 * - killed and not back within --timeout: exit 5 (`job.stream_lost`) with the
 *   re-attach command; run after the restart, that command says the job did
 *   not survive a restart of the service;
 * - stopped (SIGTERM) and restarted: the job is cancelled by the shutdown and
 *   the follower is told so before the stream closes (exit 1, `job.cancelled`);
 *   a migration, which does not stop half-way, finishes within the grace
 *   period and `migrate up` exits 0.
 *
 * Never a hang, never a stack trace or an "unparseable event" line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireSshd, sshdMissing, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { CLI, ROOT, ensureBuilt, privateHome, runCli, type CliResult } from '../helpers/stack.js';
import { generateKeyPair } from '../helpers/keys.js';

const home = privateHome('flt-restart-');
const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flt-restart-data-')), 'data');
let bastion: Sshd | undefined;
let host: Sshd | undefined;
let service: DemoService | undefined;
let keysLine = '';
let internalPort = 0;
let conn: string[] = [];

async function startService(): Promise<DemoService> {
  const s = await startDemoService({
    authorizedKeys: keysLine,
    dataDir,
    extraArgs: ['--no-approvals', '--slow-migrations', '2500', ...(internalPort ? ['--internal-port', String(internalPort)] : [])],
  });
  if (internalPort) assert.equal(s.internal.port, internalPort, 'restarted on the same internal port');
  internalPort = s.internal.port;
  return s;
}

/** Ends the running service with `signal` and waits for it to exit (the data dir stays). */
async function killService(signal: NodeJS.Signals): Promise<void> {
  const s = service!;
  service = undefined;
  const exited = new Promise<void>((r) => (s.proc.exitCode !== null || s.proc.signalCode !== null ? r() : s.proc.once('exit', () => r())));
  s.proc.kill(signal);
  await exited;
  await s.stop();
}

before(async () => {
  if (sshdMissing()) return;
  ensureBuilt();
  const key = generateKeyPair('flt-restart-admin', { dir: home.dir });
  keysLine = `${key.authorizedKeysLine('admin')}\n`;
  bastion = await startSshd({ authorizedKeys: [key.publicLine] });
  host = await startSshd({ authorizedKeys: [key.publicLine] });
  service = await startService();
  const kh = path.join(home.dir, 'known_hosts');
  fs.writeFileSync(kh, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
  conn = [
    '--bastion', `${TEST_USER}@127.0.0.1:${bastion.port}`,
    '--host', `${TEST_USER}@127.0.0.1:${host.port}`,
    '--port', String(internalPort),
    '--identity', key.privatePath,
    '--known-hosts', kh,
  ];
});

after(async () => {
  await service?.stop();
  await host?.stop();
  await bastion?.stop();
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  fs.rmSync(home.dir, { recursive: true, force: true });
});

const cli = (args: string[], timeoutMs = 60_000): Promise<CliResult> => runCli([...conn, ...args], home.env, { timeoutMs });

/** A CLI run in the background whose output can be watched while it runs. */
function background(args: string[]): { child: ChildProcess; stdout(): string; stderr(): string; waitFor(re: RegExp, ms?: number): Promise<void>; done: Promise<CliResult & { tookMs: number; endedAt: number }> } {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...conn, ...args], { cwd: ROOT, env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult & { tookMs: number; endedAt: number }>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`opsctl ${args.join(' ')} hung; stderr:\n${stderr}`)); }, 90_000);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, tookMs: Date.now() - started, endedAt: Date.now() }); });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(re, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!re.test(stdout + stderr)) {
        if (child.exitCode !== null) throw new Error(`opsctl exited (${child.exitCode}) before printing ${re}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`opsctl never printed ${re}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    done,
  };
}

/** No stack trace, no unparseable NDJSON, no raw control bytes in what the operator saw. */
function assertClean(r: CliResult, where: string): void {
  for (const [name, s] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    assert.doesNotMatch(s, /\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|unhandled|ERR_/, `${where} ${name}: no stack trace or internal error:\n${s}`);
    assert.doesNotMatch(s, /unparseable event/, `${where} ${name}: no torn event lines:\n${s}`);
    assert.doesNotMatch(s, /[\x00-\x08\x0b-\x1f\x7f]/, `${where} ${name}: no raw control bytes:\n${JSON.stringify(s)}`);
  }
}

const jobIdOf = (r: CliResult): string => {
  const id = r.stdout.trim().split('\n')[0] ?? '';
  assert.match(id, /^[A-Za-z0-9_-]{6,}$/, `the job id alone on stdout: ${JSON.stringify(r.stdout)}`);
  return id;
};

const auditRecords = (): Array<Record<string, any>> => fs.readFileSync(path.join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

/** A test that failed half-way may have left the service down: every test starts with it up. */
async function serviceUp(): Promise<void> {
  service ??= await startService();
}

/** A task slow enough to be killed in the middle: 10 batches, 1.5 s apart. */
async function startSlowTask(): Promise<string> {
  const r = await cli(['tasks', 'run', 'recompute-totals', '--param', 'pauseMs=1500']);
  assert.equal(r.code, 0, r.stderr);
  return jobIdOf(r);
}

test('setup: the schema is migrated (the tasks need it)', async (t) => {
  if (requireSshd(t)) return;
  await serviceUp();
  const r = await cli(['migrate', 'up', '--yes']);
  assert.equal(r.code, 0, r.stderr);
});

test('killed and back within --timeout: jobs logs --follow re-attaches, finds the job gone with the old instance, exit 1 job.lost', async (t) => {
  if (requireSshd(t)) return;
  await serviceUp();
  const id = await startSlowTask();
  const follow = background(['--timeout', '20', 'jobs', 'logs', id, '--follow']);
  await follow.waitFor(/orders checked/);
  const before = auditRecords().length;
  const killedAt = Date.now();
  await killService('SIGKILL');
  service = await startService();
  const r = await follow.done;
  t.diagnostic(`CLI ended ${r.endedAt - killedAt} ms after the kill (service back after ${Date.now() - killedAt} ms at most)`);
  assertClean(r, 'follow');
  assert.equal(r.code, 1, `exit 1: the job did not finish\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`job ${id} .*did not survive a restart of the service`), `says what happened:\n${r.stderr}`);
  const ids = /ran on instance ([\w-]+), the internal port now answers as instance ([\w-]+)/.exec(r.stderr);
  assert.ok(ids && ids[1] !== ids[2], `names the old and the new instance, which differ:\n${r.stderr}`);
  assert.match(r.stderr, /opsctl audit tail/, `says where to look:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Re-attach with/, `no re-attach hint that cannot work:\n${r.stderr}`);
  assert.ok(r.endedAt - killedAt < 20_000, `ended within --timeout of the kill: ${r.endedAt - killedAt} ms`);
  // The new instance saw the CLI relearn its id exactly once: one 401
  // auth.instance for the job's events, then the signed-again request (404).
  const seen = auditRecords().slice(before).filter((x) => x.path === `/v1/jobs/${id}/events`);
  assert.deepEqual(seen.map((x) => `${x.status} ${x.code ?? ''}`.trim()), ['401 auth.instance', '404 not_found'], `one relearn, one re-attach: ${JSON.stringify(seen)}`);

  // -o json: the same as one error object on stderr.
  const id2 = await startSlowTask();
  const j = background(['-o', 'json', '--timeout', '20', 'jobs', 'logs', id2, '--follow']);
  await j.waitFor(/orders checked/);
  await killService('SIGKILL');
  service = await startService();
  const rj = await j.done;
  assert.equal(rj.code, 1, rj.stderr);
  for (const line of rj.stdout.trim().split('\n')) assert.equal((JSON.parse(line) as { jobId?: string }).jobId, id2, `every stdout line is a whole event of the job: ${line}`);
  const err = (JSON.parse(rj.stderr) as { error: { code: string; exitCode: number; hint?: string } }).error;
  assert.equal(err.code, 'job.lost', rj.stderr);
  assert.equal(err.exitCode, 1, rj.stderr);
});

test('killed and not back within --timeout: exit 5 with the re-attach command; run after the restart, it says the job is gone', async (t) => {
  if (requireSshd(t)) return;
  await serviceUp();
  const id = await startSlowTask();
  const follow = background(['--timeout', '3', 'tasks', 'run', 'recompute-totals', '--param', 'pauseMs=1500', '--follow']);
  await follow.waitFor(/orders checked/);
  const followed = /as job ([A-Za-z0-9_-]+)/.exec(follow.stderr())?.[1];
  assert.ok(followed, `tasks run --follow names its job:\n${follow.stderr()}`);
  const killedAt = Date.now();
  await killService('SIGKILL');
  const r = await follow.done;
  t.diagnostic(`exit ${r.code} ${r.endedAt - killedAt} ms after the kill`);
  assertClean(r, 'tasks run --follow');
  assert.equal(r.code, 5, `exit 5: the internal port is gone\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`lost the event stream of job ${followed}`), `names the job:\n${r.stderr}`);
  assert.match(r.stderr, /within 3 s \(--timeout\)/, `says how long it tried:\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`Re-attach with: opsctl jobs logs ${followed} --follow`), `prints the re-attach command:\n${r.stderr}`);
  assert.ok(r.endedAt - killedAt >= 2500 && r.endedAt - killedAt < 10_000, `gave up after about --timeout: ${r.endedAt - killedAt} ms`);

  service = await startService();
  const again = await cli(['jobs', 'logs', followed!, '--follow']);
  assertClean(again, 're-attach');
  assert.equal(again.code, 2, `a job this instance does not know: exit 2\n${again.stderr}`);
  assert.match(again.stderr, new RegExp(`no job "${followed}" .*jobs do not survive a restart of the service`), `says why it is unknown:\n${again.stderr}`);
  // The job started without --follow is gone the same way.
  const other = await cli(['jobs', 'status', id]);
  assert.equal(other.code, 2, other.stderr);
});

test('stopped with SIGTERM: the running task is cancelled by the shutdown and the follower is told before the stream closes (exit 1)', async (t) => {
  if (requireSshd(t)) return;
  await serviceUp();
  const follow = background(['tasks', 'run', 'recompute-totals', '--param', 'pauseMs=1500', '--follow']);
  await follow.waitFor(/orders checked/);
  await killService('SIGTERM');
  const r = await follow.done;
  service = await startService();
  assertClean(r, 'tasks run --follow');
  assert.equal(r.code, 1, `exit 1: the job was cancelled\n${r.stderr}`);
  assert.match(r.stderr, /cancelled/, `says it was cancelled:\n${r.stderr}`);
  assert.match(r.stderr, /shutting down/, `says why:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /lost the event stream/, `the end arrived before the stream closed:\n${r.stderr}`);
});

test('stopped with SIGTERM during migrate up: the migration finishes within the grace period, the follower gets the end (exit 0)', async (t) => {
  if (requireSshd(t)) return;
  await serviceUp();
  const down = await cli(['migrate', 'down', '--to', '0', '--yes']);
  assert.equal(down.code, 0, down.stderr);
  const up = background(['migrate', 'up', '--yes']);
  await up.waitFor(/as job/);
  await new Promise((r) => setTimeout(r, 500));
  await killService('SIGTERM');
  const r = await up.done;
  service = await startService();
  assertClean(r, 'migrate up');
  assert.equal(r.code, 0, `the follower saw the job succeed\n${r.stderr}`);
  const status = await cli(['-o', 'json', 'migrate', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /"pending":\s*\[\s*\]/, `nothing pending after the restart: ${status.stdout}`);
});
