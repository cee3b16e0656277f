/**
 * What an answered question leaves on the terminal: a tick only for yes. A
 * declined confirmation or a wrong context name shows ✖ (inquirer's own
 * answered line would show a green ✔ for "no" too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness, stripAnsi } from '../helpers/cli-harness.js';

const h = fileHarness();

test('declined: ✖ and exit 4; accepted: ✔', async () => {
  const no = await h.run(['tasks', 'run', 'purge', '--param', 'olderThanDays=1'], { tty: true, answers: [{ when: /\(y\/N\)/, send: 'n' }] });
  assert.equal(no.code, 4, no.stderr);
  const plain = stripAnsi(no.stderr);
  assert.match(plain, /✖ Run task purge on test\? no/);
  assert.doesNotMatch(plain, /✔/);
  assert.match(no.stderr, /\x1b\[31m✖/, 'red on a colour terminal');

  const yes = await h.run(['tasks', 'run', 'purge', '--param', 'olderThanDays=1'], { tty: true, answers: [{ when: /\(y\/N\)/, send: 'y' }] });
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(stripAnsi(yes.stderr), /✔ Run task purge on test\? yes/);
});

test('protected context, wrong name typed: ✖ naming what was expected', async () => {
  const r = await h.run(['--context', 'prod', 'tasks', 'run', 'purge', '--param', 'olderThanDays=1'], { tty: true, answers: [{ when: /Type its name/, send: 'staging' }] });
  assert.equal(r.code, 4, r.stderr);
  const plain = stripAnsi(r.stderr);
  assert.match(plain, /✖ Context "prod" is protected\. Type its name to run task purge on prod: staging — not "prod"/);
  assert.doesNotMatch(plain, /✔/);
});
