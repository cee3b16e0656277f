/**
 * Params the catalog marks secret never come from argv: refused there with
 * a message that says how to pass them (exit 2, nothing sent), read from
 * @FILE or stdin (-), or asked for without echo on a terminal. The audit log
 * never holds the value either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileHarness } from '../helpers/cli-harness.js';
import { run as runTask } from '../../src/cli/commands/tasks/run.js';

const h = fileHarness();
const runs = () => h.counters.runs.get('rotate') ?? 0;

test('a secret on argv is refused (exit 2) with how to pass it; nothing is sent', async () => {
  const before = runs();
  for (const argv of [
    ['tasks', 'run', 'rotate', '--param', 'password=hunter2', '-f'],
    ['call', 'tasks.run', '--param', 'name=rotate', '--param', 'params={"password":"hunter2"}'],
  ]) {
    const r = await h.run(argv, { as: 'operator' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--param password is secret and is not taken from the command line/);
    assert.match(r.stderr, /--param password=@FILE/);
    assert.match(r.stderr, /--param password=- to read it from standard input/);
    assert.match(r.stderr, /asked for it without echo on a terminal/);
  }
  assert.equal(runs(), before, 'the task did not run');
  assert.ok(!h.audit().some((rec) => JSON.stringify(rec).includes('hunter2')), 'the value never reached the audit log');
});

test('--param NAME=@FILE reads the secret from a file (one trailing newline dropped)', async () => {
  const file = path.join(h.dir, 'pw.txt');
  fs.writeFileSync(file, 'hunter2\n', { mode: 0o600 });
  const r = await h.run(['-o', 'json', 'tasks', 'run', 'rotate', '--param', `password=@${file}`, '--param', 'user=bob', '-f'], { as: 'operator' });
  assert.equal(r.code, 0, r.stderr);
  const end = r.ndjson().at(-1);
  assert.equal(end.state, 'succeeded');
  assert.deepEqual(end.result, { user: 'bob', passwordLength: 7, passwordIsHunter2: true });
  const missing = await h.run(['tasks', 'run', 'rotate', '--param', `password=@${file}.nope`], { as: 'operator' });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /password=@.*nope: cannot read the file \(ENOENT\)/);
  const records = await h.auditSettled();
  assert.ok(!records.some((rec) => JSON.stringify(rec).includes('hunter2')), 'redacted in the audit log');
});

test('--param NAME=- reads the secret from standard input', async () => {
  const bench = h.factory({ as: 'operator', globals: { output: 'json' } });
  const stdin = bench.io.io.stdin as PassThrough;
  stdin.write('hunter2\n');
  (PassThrough.prototype.end as (this: PassThrough) => void).call(stdin);
  await runTask(bench.f, { task: 'rotate', params: ['password=-'], follow: true });
  await bench.close();
  const end = bench.io.stdout().trim().split('\n').map((l) => JSON.parse(l)).at(-1);
  assert.deepEqual(end.result, { user: null, passwordLength: 7, passwordIsHunter2: true });
});

test('a required secret left out: asked for on a terminal (masked), refused without one', async () => {
  const tty = await h.run(['tasks', 'run', 'rotate', '-f'], { as: 'operator', tty: true, answers: [{ when: /password for task "rotate"/, send: 'hunter2' }] });
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(tty.stdout, /"passwordIsHunter2": true/);
  assert.doesNotMatch(tty.stderr, /hunter2/, 'not echoed');
  const piped = await h.run(['tasks', 'run', 'rotate'], { as: 'operator' });
  assert.equal(piped.code, 2);
  assert.match(piped.stderr, /task "rotate" needs --param password=…/);
});

test('only one param can come from stdin', async () => {
  const { resolveSecrets, SecretSource } = await import('../../src/cli/params/secret-params.js');
  const bench = h.factory({ as: 'operator' });
  await assert.rejects(
    resolveSecrets({ a: new SecretSource('a', 'stdin'), b: new SecretSource('b', 'stdin') }, {}, { io: bench.f.io, prompter: bench.f.prompter(), subject: 'x' }),
    /only one param can be read from standard input; a and b both say "-"/,
  );
  await bench.close();
});
