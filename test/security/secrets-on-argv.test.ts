/**
 * Secret task params never ride on argv, end to end: the built CLI through a
 * real bastion and service host against the demo service, whose
 * `rotate-webhook-secret` task marks `secret` as secret. On argv it is
 * refused (exit 2, the message names @FILE, - and the prompt) before the run
 * is sent — the service's audit log gains only the catalog reads; from a 0600 file or from
 * standard input it works; the value is in no audit record and not in the
 * CLI's /proc/PID/cmdline either way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, CLI, ROOT, type Stack } from '../helpers/stack.js';

const SECRET = `flt-${Math.random().toString(36).slice(2)}-webhook-secret`;
let stack: Stack | undefined;
before(async (t) => {
  stack = await startStack(t as never, { role: 'operator', demoArgs: ['--no-approvals'] });
});
after(async () => {
  await stack?.stop();
});

const auditText = (s: Stack) => (fs.existsSync(s.service.auditLog) ? fs.readFileSync(s.service.auditLog, 'utf8') : '');

/** The command lines of `pid` and every process below it, read from /proc. */
function treeCmdlines(pid: number): string[] {
  const out: string[] = [];
  const walk = (p: number) => {
    try { out.push(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')); } catch { return; }
    const kids: string[] = [];
    try {
      for (const task of fs.readdirSync(`/proc/${p}/task`)) kids.push(...fs.readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean));
    } catch { /* gone */ }
    for (const k of kids) walk(Number(k));
  };
  walk(pid);
  return out;
}

/**
 * The built CLI with `input` on stdin. While it runs, the command lines of
 * it and of anything it starts are sampled every 20 ms (what `ps` would show
 * another user on the machine, process.title included).
 */
function cli(s: Stack, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string; cmdlines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...s.connection, ...args], { cwd: ROOT, env: s.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const cmdlines = new Set<string>();
    const sample = () => { for (const c of treeCmdlines(child.pid!)) cmdlines.add(c); };
    sample();
    const sampler = setInterval(sample, 20);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => { clearInterval(sampler); child.kill('SIGKILL'); reject(new Error(`hung: ${stderr}`)); }, 60_000);
    child.once('exit', (code) => {
      clearInterval(sampler);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, cmdlines: [...cmdlines] });
    });
  });
}

/** The audit records after `offset` once one matches `until` (the log is written asynchronously). */
async function auditAfter(s: Stack, offset: number, until: (r: Record<string, any>) => boolean): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const added = auditText(s).slice(offset).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    if (added.some(until)) return added;
    if (Date.now() > deadline) throw new Error(`no matching audit record within 10 s; got ${JSON.stringify(added)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fingerprintOf = (v: string) => `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 16)}`;

test('a secret param on argv is refused (exit 2) naming @FILE, - and the prompt; nothing reaches the service', async (t) => {
  if (!stack) return t.skip('no sshd');
  // A first call so the connection and the audit log exist.
  const warm = await cli(stack, ['tasks', 'list']);
  assert.equal(warm.code, 0, warm.stderr);
  const before = auditText(stack);
  for (const args of [
    ['tasks', 'run', 'rotate-webhook-secret', '--param', `secret=${SECRET}`, '-f'],
    ['tasks', 'run', 'rotate-webhook-secret', '--param', `secret=${SECRET}`, '--dry-run'],
    ['call', 'tasks.run', '--param', 'name=rotate-webhook-secret', '--param', `params={"secret":"${SECRET}"}`],
  ]) {
    const r = await cli(stack, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /secret=@FILE/, `names --param secret=@FILE:\n${r.stderr}`);
    assert.match(r.stderr, /secret=-/, `names --param secret=- (stdin):\n${r.stderr}`);
    assert.match(r.stderr, /without echo/, `names the prompt:\n${r.stderr}`);
    assert.ok(!r.stderr.includes(SECRET), 'the refusal does not repeat the value');
    assert.ok(!r.stdout.includes(SECRET), 'nor does stdout');
  }
  // A marker request after the refusals: once its record is in the log,
  // every record of the refusals is too.
  const marker = await cli(stack, ['flags', 'get', 'max_page_size']);
  assert.equal(marker.code, 0, marker.stderr);
  const added = await auditAfter(stack, before.length, (r) => r.path === '/v1/flags/max_page_size');
  // The CLI may read the catalog / task list (that is how it knows the param
  // is secret), but no run was sent and the value went nowhere.
  assert.ok(added.length > 1, `the refusals were checked against the live catalog: ${JSON.stringify(added)}`);
  assert.deepEqual(added.filter((r) => r.method !== 'GET'), [], 'no run (no POST) reached the service');
  assert.ok(!JSON.stringify(added).includes(SECRET), 'the value was not sent');
});

test('--param secret=@FILE and --param secret=- work; the value is never in the audit log nor in the CLI argv', async (t) => {
  if (!stack) return t.skip('no sshd');
  const file = path.join(stack.dir, 'flt-secret.txt');
  fs.writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  const a = await cli(stack, ['-o', 'json', 'tasks', 'run', 'rotate-webhook-secret', '--param', `secret=@${file}`, '-f']);
  assert.equal(a.code, 0, a.stderr);
  const endA = a.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).at(-1)!;
  assert.equal(endA.state, 'succeeded', a.stdout);
  assert.equal(endA.result?.fingerprint, fingerprintOf(SECRET), 'the service got exactly the file\'s value, its trailing newline dropped');
  assert.ok(a.cmdlines.some((c) => c.includes('secret=@')), `the CLI's own command line was sampled: ${JSON.stringify(a.cmdlines)}`);
  assert.ok(!a.cmdlines.some((c) => c.includes(SECRET)), `the secret is on no command line: ${JSON.stringify(a.cmdlines)}`);

  const b = await cli(stack, ['-o', 'json', 'tasks', 'run', 'rotate-webhook-secret', '--param', 'secret=-', '-f'], `${SECRET}\n`);
  assert.equal(b.code, 0, b.stderr);
  const endB = b.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).at(-1)!;
  assert.equal(endB.state, 'succeeded', b.stdout);
  assert.equal(endB.result?.fingerprint, endA.result?.fingerprint, 'the same secret from stdin (trailing newline dropped as from the file)');
  assert.equal(endB.result?.previous, endA.result?.fingerprint, 'the second run replaced the first run\'s secret');
  assert.ok(!b.cmdlines.some((c) => c.includes(SECRET)), `the secret is on no command line: ${JSON.stringify(b.cmdlines)}`);

  const offset = auditText(stack).length;
  const marker = await cli(stack, ['flags', 'get', 'max_page_size']);
  assert.equal(marker.code, 0, marker.stderr);
  await auditAfter(stack, offset, (r) => r.path === '/v1/flags/max_page_size');
  const audit = auditText(stack);
  const runs = audit.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>)
    .filter((r) => r.method === 'POST' && JSON.stringify(r.params ?? null).includes('rotate-webhook-secret'));
  assert.ok(runs.length >= 2, `both runs are audited: ${JSON.stringify(runs)}`);
  assert.ok(runs.every((r) => JSON.stringify(r.params).includes('"secret":"[redacted]"')), `the param is recorded, redacted: ${JSON.stringify(runs.map((r) => r.params))}`);
  assert.ok(!audit.includes(SECRET), 'the secret is not in the audit log');
  for (const out of [a.stdout, a.stderr, b.stdout, b.stderr]) assert.ok(!out.includes(SECRET), 'nor in the CLI output');
});
