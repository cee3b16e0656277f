/**
 * The exit and error contract, command by command, against the README
 * "Exit codes" table: every code reached, -o json failures as one
 * {"error":{…}} object on stderr with stdout empty or one document, no
 * message said twice, names the operator typed answered with did-you-mean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness } from '../helpers/cli-harness.js';
import { EXIT_CODE_DESCRIPTIONS } from '../../src/protocol/exit-codes.js';
import { run as metrics } from '../../src/cli/commands/metrics/metrics.js';
import { main } from '../../src/cli/main.js';
import { testIO } from '../helpers/cli-harness.js';

const h = fileHarness();
const reached = new Set<number>();

function errorObject(stderr: string): { code: string; status: number | null; message: string; exitCode: number; hint?: string } {
  // Notes (a migration plan under review) may come first; the error object
  // is one line, the last one, and there is only one.
  const lines = stderr.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('{"error":')).length, 1, `one error object on stderr:\n${stderr}`);
  const doc = JSON.parse(lines.at(-1)!);
  assert.deepEqual(Object.keys(doc), ['error']);
  return doc.error;
}

async function expectCode(argv: string[], code: number, opts: Parameters<typeof h.run>[1] = {}) {
  const r = await h.run(argv, opts);
  assert.equal(r.code, code, `${argv.join(' ')}\n${r.stderr}`);
  reached.add(code);
  return r;
}

test('0 and 1: success, and a failed job from every command that reads one', async () => {
  await expectCode(['health'], 0);
  const failed = await expectCode(['tasks', 'run', 'count', '--param', 'fail=true', '-f'], 1, { as: 'operator' });
  const id = /opsctl: job (\S+) failed/.exec(failed.stderr)![1]!;
  assert.equal(failed.stderr.split('\n').filter((l) => l.includes('failed on purpose')).length, 1, 'said once');
  for (const argv of [['jobs', 'status', id], ['jobs', 'logs', id], ['jobs', 'logs', id, '--follow'], ['jobs', 'wait', id]]) {
    const r = await expectCode(argv, 1, { as: 'viewer' });
    assert.equal((r.stderr.match(new RegExp(`job ${id} failed`, 'g')) ?? []).length, 1, `${argv.join(' ')} says it once:\n${r.stderr}`);
    const j = await expectCode(['-o', 'json', ...argv], 1, { as: 'viewer' });
    const e = errorObject(j.stderr);
    assert.equal(e.code, 'job.failed');
    assert.equal(e.exitCode, 1);
    assert.equal(e.status, null);
    // stdout: one document (status, wait) or NDJSON events that each name the job.
    if (argv[1] === 'logs') assert.ok(j.ndjson().every((ev) => ev.jobId === id));
    else assert.equal(j.json().id, id);
  }
});

test('2: usage — unknown names get did-you-mean from the live list; server request.invalid; hop specs and empty targets before any network', async () => {
  const typo = await expectCode(['flags', 'get', 'maintenanc_mode'], 2, { as: 'viewer' });
  assert.match(typo.stderr, /not_found, HTTP 404/);
  assert.match(typo.stderr, /\(Did you mean maintenance_mode\?\)/);
  const j = await expectCode(['-o', 'json', 'flags', 'get', 'maintenanc_mode'], 2, { as: 'viewer' });
  assert.equal(j.stdout, '', 'stdout stays empty');
  const e = errorObject(j.stderr);
  assert.equal(e.code, 'not_found');
  assert.equal(e.status, 404);
  assert.equal(e.exitCode, 2);
  assert.equal(e.hint, '(Did you mean maintenance_mode?)');
  assert.doesNotMatch(e.message, /\[not_found/, 'the JSON message carries no "[code, HTTP n]" suffix');

  const job = await expectCode(['jobs', 'status', 'nosuchjob1'], 2, { as: 'viewer' });
  assert.match(job.stderr, /not_found/);

  const invalid = await expectCode(['-o', 'json', 'flags', 'set', 'max_page_size', '999'], 2, { as: 'operator' });
  assert.equal(errorObject(invalid.stderr).code, 'request.invalid');
  assert.equal(errorObject(invalid.stderr).status, 400);

  for (const [argv, re] of [
    [['--bastion', 'a@@b', '--host', 'svc', 'health'], /--bastion: invalid user name "a@" in "a@@b"/],
    [['--host', '', 'health'], /--host is empty/],
    [['--bastion', '', 'health'], /--bastion is empty/],
    [['--hosts-file', '', 'health'], /--hosts-file is empty/],
    [['--known-hosts', '', 'health'], /--known-hosts is empty/],
    [['--reason', ' ', 'flags', 'set', 'max_page_size', '10'], /--reason is empty/],
    [['--host', 'a,,b', 'health'], /has an empty entry/],
    [['--timeout', '0', 'health'], /--timeout must be a number of seconds greater than 0 and at most 3600/],
  ] as Array<[string[], RegExp]>) {
    let connected = false;
    const r = await expectCode(argv, 2, { onTunnel: () => (connected = true) });
    assert.match(r.stderr, re);
    assert.equal(connected, false, `${argv.join(' ')}: nothing was connected`);
  }

  const opt = await expectCode(['-o', 'json', 'jobs', 'logs', 'x', '--folow'], 2);
  const oe = errorObject(opt.stderr);
  assert.equal(oe.message, 'unknown option "--folow"');
  assert.equal(oe.hint, '(Did you mean --follow?)');

  // A missing argument lists the candidates TAB would offer (from the cache).
  await expectCode(['flags', 'list'], 0, { as: 'viewer' });
  const missing = await expectCode(['flags', 'get'], 2);
  assert.match(missing.stderr, /missing required argument "name"\nflags: .*maintenance_mode.* \(see opsctl flags list\)/);
});

test('3, 4, 5, 6: auth, not confirmed, connection, conflict — each with its JSON error object', async () => {
  const auth = await expectCode(['-o', 'json', 'audit', 'tail'], 3, { as: 'viewer' });
  assert.equal(errorObject(auth.stderr).code, 'auth.forbidden');
  const nc = await expectCode(['-o', 'json', 'migrate', 'up'], 4);
  assert.equal(errorObject(nc.stderr).code, 'not_confirmed');
  assert.equal(nc.stdout, '');

  // 5: an SSH port nothing listens on, through the real transport.
  const conn = await expectCode(['-o', 'json', '--host', '127.0.0.1:1', 'health'], 5, { realTunnel: true });
  assert.equal(errorObject(conn.stderr).code, 'connection');
  assert.equal(conn.stdout, '');
  // Two hosts (--host repeated) that both fail: one fleet document on stdout,
  // one error object that says what failed; a human sees the tally once.
  const fleet = ['--host', '127.0.0.1:1', '--host', '127.0.0.2:1', 'health'];
  const fj = await expectCode(['-o', 'json', ...fleet], 5, { realTunnel: true });
  assert.deepEqual(JSON.parse(fj.stdout).hosts.map((x: { host: string }) => x.host), ['127.0.0.1:1', '127.0.0.2:1'], 'both hosts, not only the last');
  const fe = errorObject(fj.stderr);
  assert.equal(fe.code, 'fleet.failed');
  assert.equal(fe.message, '2 of 2 host(s) failed');
  assert.deepEqual(fj.stderr.trim().split('\n').map((l) => Object.keys(JSON.parse(l) as object)), [['error']], `-o json: stderr is the one error object, nothing else:\n${fj.stderr}`);
  const human = await expectCode(fleet, 5, { realTunnel: true });
  assert.match(human.stderr, /2 host\(s\): 0 ok, 2 failed, 0 skipped/);
  assert.doesNotMatch(human.stderr, /opsctl: 2 of 2/, 'the tally is not said twice');

  // 6: the migration lock is held by someone else.
  assert.deepEqual(await h.lock.acquire('someone-else@elsewhere'), { acquired: true });
  try {
    const locked = await expectCode(['-o', 'json', '--yes', 'migrate', 'up'], 6);
    const e = errorObject(locked.stderr);
    assert.equal(e.code, 'conflict.locked');
    assert.equal(e.status, 409);
    assert.match(e.message, /someone-else@elsewhere/);
  } finally {
    await h.lock.release('someone-else@elsewhere');
  }
});

test('130: Ctrl-C in metrics --watch', async () => {
  const bench = h.factory({ as: 'viewer' });
  const ac = new AbortController();
  const done = metrics(bench.f, { watch: true, interval: 0.2, interrupt: ac.signal });
  setTimeout(() => ac.abort(), 300);
  const err = await done.then(() => undefined, (e: unknown) => e);
  await bench.close();
  const { reportError } = await import('../../src/cli/errors/exit-code.js');
  const r = reportError(err);
  assert.equal(r.exitCode, 130);
  assert.equal(r.code, 'interrupted');
  reached.add(130);
});

test('every exit code of the README table was reached above', async () => {
  const io = testIO({ ...h.env }, false);
  assert.equal(await main(['--version'], io.io), 0);
  for (const { code } of EXIT_CODE_DESCRIPTIONS) assert.ok(reached.has(code), `exit ${code} reached`);
});
