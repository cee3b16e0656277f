/**
 * The exec adaptor through the real opsctl-port bin: every {param} is one
 * argv element and no shell ever reads it (shell syntax, separators,
 * newlines and globs arrive as data, and a marker file proves nothing else
 * ran); a secret goes through the environment and stdin, never argv, the
 * log or the audit; the job's log is the command's output and its exit
 * status the result (and in the audit record); cancel and timeout kill the
 * whole process group; a lock makes a second run 409.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { auditRecords, eventually, startOpsctlPort, tempDir, type RunningPort } from '../helpers/sidecar.js';
import { SignedClient, makeKey, waitForJob, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let port: RunningPort;
let operator: SignedClient;
let viewer: SignedClient;
const MARK = () => path.join(dir, 'PWNED');
const SECRET = 'pa55-w0rd-7c1e';

/** Alive and not a zombie (an orphan reparented to a PID 1 that does not reap stays a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

before(async () => {
  dir = tempDir();
  const keys = { operator: makeKey(dir, 'oscar'), viewer: makeKey(dir, 'vera') };
  writeAllowlist(path.join(dir, 'keys'), [[keys.operator, 'operator'], [keys.viewer, 'viewer']]);
  fs.mkdirSync(path.join(dir, 'bin'));
  // Records exactly what it was given: argv NUL-separated, two variables, stdin.
  fs.writeFileSync(path.join(dir, 'bin/record.sh'), `#!/bin/sh
printf '%s\\0' "$@" > "$OUT/args"
printf '%s' "$SECRET_IN" > "$OUT/env-secret"
printf '%s' "$FIXED" > "$OUT/env-fixed"
printf '%s' "\${HOME-unset}" > "$OUT/env-home"
cat > "$OUT/stdin"
echo "run" >> "$OUT/runs"
echo "got $# argument(s)"
echo "to stderr" >&2
`, { mode: 0o755 });
  // Starts a child that outlives a plain kill of its parent, then waits.
  fs.writeFileSync(path.join(dir, 'bin/sleeper.sh'), `#!/bin/sh
sleep 300 &
echo "$$ $!" > "$OUT/pids-$1"
echo started
wait
`, { mode: 0o755 });
  const params = (props: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties: props, required });
  const config = {
    service: { name: 'exec-test', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    endpoints: [
      {
        id: 'x.record', summary: 'record argv', role: 'operator',
        params: params({ value: { type: 'string', maxLength: 4096 }, count: { type: 'integer' }, password: { type: 'string', secret: true } }, ['value']),
        exec: {
          argv: ['./bin/record.sh', '--name', '{value}', '--flag={value}', '{count}'],
          env: { set: { OUT: dir, SECRET_IN: '{password}', FIXED: 'fixed value' } },
          stdin: '{password}\n',
        },
      },
      { id: 'x.fail', summary: 'fails', role: 'operator', exec: { argv: ['/bin/sh', '-c', 'echo failing; echo oops >&2; exit 3'] } },
      { id: 'x.sleep', summary: 'sleeps', role: 'operator', params: params({ tag: { type: 'string', pattern: '^[a-z]+$' } }, ['tag']), exec: { argv: ['./bin/sleeper.sh', '{tag}'], env: { set: { OUT: dir } }, timeout: '60s', killGrace: '1s' } },
      { id: 'x.short', summary: 'times out', role: 'operator', params: params({ tag: { type: 'string', pattern: '^[a-z]+$' } }, ['tag']), exec: { argv: ['./bin/sleeper.sh', '{tag}'], env: { set: { OUT: dir } }, timeout: '1s', killGrace: '500ms' } },
      { id: 'x.locked', summary: 'one at a time', role: 'operator', exec: { argv: ['/bin/sleep', '3'], lock: 'the-lock' } },
      // Switching users needs opsctl-port to run as root (check refuses it otherwise).
      ...(process.getuid?.() === 0 ? [{ id: 'x.whoami', summary: 'who runs it', role: 'operator', exec: { argv: ['/usr/bin/id', '-u'], user: 'nobody', cwd: '/' } }] : []),
    ],
  };
  fs.writeFileSync(path.join(dir, 'opsctl-port.yaml'), JSON.stringify(config, null, 2));
  port = await startOpsctlPort(path.join(dir, 'opsctl-port.yaml'));
  operator = new SignedClient({ host: '127.0.0.1', port: port.port }, keys.operator);
  viewer = new SignedClient({ host: '127.0.0.1', port: port.port }, keys.viewer);
});
after(async () => {
  await port?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(id: string, body: Record<string, unknown>): Promise<{ status: number; job?: Record<string, any>; json: any }> {
  const r = await operator.send('POST', `/v1/${id.replace('.', '/')}`, { body });
  if (r.status !== 202) return { status: r.status, json: r.json };
  return { status: 202, job: await waitForJob(operator, r.json.jobId, 30_000), json: r.json };
}

const recorded = () => fs.readFileSync(path.join(dir, 'args'), 'utf8').split('\0').slice(0, -1);

test('each {param} is exactly one argv element: shell syntax, separators, newlines and globs arrive as data, and nothing else runs', async () => {
  const attempts = [
    `$(touch ${MARK()})`,
    `\`touch ${MARK()}\``,
    `x; touch ${MARK()}`,
    `x | touch ${MARK()}`,
    `x && touch ${MARK()}`,
    `x\ntouch ${MARK()}`,
    `' ; touch ${MARK()} ; '`,
    `\${IFS}touch\${IFS}${MARK()}`,
    '*',
    'a b\tc',
    '~root',
    '\u202e\u0007ansi\u001b[31m',
  ];
  fs.rmSync(path.join(dir, 'runs'), { force: true });
  for (const value of attempts) {
    const r = await run('x.record', { value });
    assert.equal(r.job?.state, 'succeeded', `${JSON.stringify(value)}: ${JSON.stringify(r)}`);
    assert.deepEqual(recorded(), ['--name', value, `--flag=${value}`], `argv for ${JSON.stringify(value)}`);
  }
  assert.equal(fs.existsSync(MARK()), false, 'no injected command ran');
  assert.equal(fs.readFileSync(path.join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length, attempts.length, 'the command ran once per request, no more');
  const withCount = await run('x.record', { value: 'v', count: 42 });
  assert.equal(withCount.job?.state, 'succeeded');
  assert.deepEqual(recorded(), ['--name', 'v', '--flag=v', '42'], 'an optional param given adds its element; absent, it is left out');
});

test('values that could become options, NUL, or too long are refused (400) before anything runs', async () => {
  fs.rmSync(path.join(dir, 'runs'), { force: true });
  const dash = await run('x.record', { value: '--output=/etc/passwd' });
  assert.equal(dash.status, 400);
  assert.equal(dash.json.field, 'value');
  assert.match(dash.json.detail, /starts with "-"/);
  assert.equal((await run('x.record', { value: 'a\u0000b' })).status, 400);
  assert.equal((await run('x.record', { value: 'y'.repeat(5000) })).status, 400, 'the schema\'s maxLength');
  assert.equal((await run('x.record', { value: 'v', extra: 1 })).status, 400, 'an undeclared param');
  assert.equal((await run('x.record', { value: 'v', count: '1; rm' })).status, 400, 'a typed param');
  const denied = await viewer.send('POST', '/v1/x/record', { body: { value: 'v' } });
  assert.equal(denied.status, 403);
  assert.equal(fs.existsSync(path.join(dir, 'runs')), false, 'the command never ran');
});

test('a secret param goes through env and stdin only: not argv, not the log, not the audit; the environment is an allowlist', async () => {
  const r = await run('x.record', { value: 'with-secret', password: SECRET });
  assert.equal(r.job?.state, 'succeeded');
  assert.deepEqual(recorded(), ['--name', 'with-secret', '--flag=with-secret']);
  assert.equal(fs.readFileSync(path.join(dir, 'env-secret'), 'utf8'), SECRET);
  assert.equal(fs.readFileSync(path.join(dir, 'stdin'), 'utf8'), `${SECRET}\n`);
  assert.equal(fs.readFileSync(path.join(dir, 'env-fixed'), 'utf8'), 'fixed value');
  assert.equal(fs.readFileSync(path.join(dir, 'env-home'), 'utf8'), 'unset', 'opsctl-port\'s own environment is not passed on');
  const events = await operator.stream(`/v1/jobs/${r.json.jobId}/events`);
  const logs = events.lines.filter((e) => e.type === 'log').map((e) => e.message);
  assert.ok(logs.includes('got 3 argument(s)') && logs.includes('to stderr'), `stdout and stderr lines are the job's log: ${JSON.stringify(logs)}`);
  await eventually(() => auditRecords(path.join(dir, 'data/audit.jsonl')).some((x) => x.jobId === r.json.jobId && x.outcome === 'ok'), 5000, 'the job\'s end record');
  const audit = fs.readFileSync(path.join(dir, 'data/audit.jsonl'), 'utf8');
  assert.ok(!audit.includes(SECRET) && !port.log().includes(SECRET) && !JSON.stringify(events.lines).includes(SECRET), 'the secret is nowhere');
  const accepted = auditRecords(path.join(dir, 'data/audit.jsonl')).find((x) => x.jobId === r.json.jobId && x.outcome === 'accepted');
  assert.equal(accepted?.params.password, '[redacted]');
});

test('the exit status is the job\'s result and is in its audit record', async () => {
  const r = await run('x.fail', {});
  assert.equal(r.job?.state, 'failed');
  assert.equal(r.job?.error.code, 'upstream.error');
  assert.match(r.job?.error.message, /x\.fail: the command exited with status 3/);
  await eventually(() => auditRecords(path.join(dir, 'data/audit.jsonl')).some((x) => x.jobId === r.json.jobId && x.outcome === 'error'), 5000, 'the job\'s end record');
  const end = auditRecords(path.join(dir, 'data/audit.jsonl')).find((x) => x.jobId === r.json.jobId && x.outcome === 'error')!;
  assert.equal(end.endpoint, 'x.fail');
  assert.equal(end.code, 'upstream.error');
  assert.equal(end.result.exitCode, 3);
  assert.equal(end.result.signal, null);
  const ok = await run('x.record', { value: 'fine' });
  await eventually(() => auditRecords(path.join(dir, 'data/audit.jsonl')).some((x) => x.jobId === ok.json.jobId && x.outcome === 'ok'), 5000, 'the ok record');
  assert.equal(auditRecords(path.join(dir, 'data/audit.jsonl')).find((x) => x.jobId === ok.json.jobId && x.outcome === 'ok')!.result.exitCode, 0);
});

test('cancel and timeout kill the whole process group', async () => {
  const started = await operator.send('POST', '/v1/x/sleep', { body: { tag: 'cancel' } });
  assert.equal(started.status, 202);
  await eventually(() => fs.existsSync(path.join(dir, 'pids-cancel')) && fs.readFileSync(path.join(dir, 'pids-cancel'), 'utf8').includes(' '), 20_000, 'the command to start');
  const pids = fs.readFileSync(path.join(dir, 'pids-cancel'), 'utf8').trim().split(' ').map(Number);
  assert.ok(pids.every(alive));
  const cancel = await operator.send('POST', `/v1/jobs/${started.json.jobId}/cancel`, { body: {} });
  assert.ok(cancel.status < 300, cancel.text);
  const job = await waitForJob(operator, started.json.jobId, 20_000);
  assert.equal(job.state, 'cancelled');
  await eventually(() => !pids.some(alive), 5000, `the process group ${pids.join(', ')} to be gone`);

  const short = await run('x.short', { tag: 'timeout' });
  assert.equal(short.job?.state, 'failed');
  assert.equal(short.job?.error.code, 'upstream.timeout');
  const spids = fs.readFileSync(path.join(dir, 'pids-timeout'), 'utf8').trim().split(' ').map(Number);
  await eventually(() => !spids.some(alive), 5000, 'the timed-out group to be gone');
});

test('a lock: while one job holds it, a second request gets 409 naming the holder', async () => {
  const first = await operator.send('POST', '/v1/x/locked', { body: {} });
  assert.equal(first.status, 202);
  const second = await operator.send('POST', '/v1/x/locked', { body: {} });
  assert.equal(second.status, 409);
  assert.equal(second.json.code, 'conflict.locked');
  assert.match(second.json.holder, /^oscar \(SHA256:[^)]+\) x\.locked request /);
  await waitForJob(operator, first.json.jobId, 20_000);
  const third = await operator.send('POST', '/v1/x/locked', { body: {} });
  assert.equal(third.status, 202, 'the lock is free once the job ended');
  await waitForJob(operator, third.json.jobId, 20_000);
});

test('user: the command runs as that user (and its group), not as opsctl-port', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('switching users needs root');
    return;
  }
  const r = await run('x.whoami', {});
  assert.equal(r.job?.state, 'succeeded', JSON.stringify(r));
  const nobody = Number(fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':')[2]);
  assert.deepEqual((r.job!.result as { tail: string[] }).tail, [String(nobody)]);
});
