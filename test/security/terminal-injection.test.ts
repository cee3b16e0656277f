/**
 * Terminal injection through the real route: the built CLI (`node
 * bin/opsctl.js`) through a real OpenSSH bastion and service host to the demo
 * service. A hostile string — an OSC 52 clipboard write, a screen clear, a
 * cursor move with a fake prompt, a C1 CSI (U+009B) and DEL — goes in as a
 * `--reason` (the CLI turns C0 controls into spaces before sending; the C1
 * reaches the service, is stored, and comes back from it in an admin's
 * `audit tail`), as a flag value and as a flag name. Piped and in a real pty
 * (tmux) the CLI shows every control visibly (`\x9b`), never as a raw byte,
 * and the screen is neither cleared nor written over; `-o json` keeps the
 * stored value exact. (A string flag holding the full sequence is
 * test/cli/terminal-safety.test.ts: the demo service has no string flag.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, CLI, ROOT, type Stack } from '../helpers/stack.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

const HOSTILE = 'hello \x1b]52;c;aGk=\x07\x1b[2J\x1b[1;1Hfake prompt \u009b31m\x7f';

let stack: Stack | undefined;
before(async (t) => {
  stack = await startStack(t as never, { demoArgs: ['--no-approvals'] });
});
after(async () => {
  await stack?.stop();
});

function assertNoControls(s: string, where: string): void {
  // No ESC at all (NO_COLOR is set), no BEL or other C0 but tab/newline, no DEL, no C1.
  assert.doesNotMatch(s, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `${where} carries a raw control byte:\n${JSON.stringify(s)}`);
}

test('a hostile reason recorded by the service reaches audit tail visibly, piped; -o json is exact', async (t) => {
  if (!stack) return t.skip('no sshd');
  const set = await stack.cli([...stack.connection, '--reason', HOSTILE, 'flags', 'set', 'max_page_size', '42']);
  assert.equal(set.code, 0, set.stderr);
  const tail = await stack.cli([...stack.connection, 'audit', 'tail']);
  assert.equal(tail.code, 0, tail.stderr);
  assertNoControls(tail.stdout, 'audit tail stdout');
  assertNoControls(tail.stderr, 'audit tail stderr');
  assert.ok(tail.stdout.includes('fake prompt \\x9b31m'), `the server-stored C1 is shown visibly:\n${tail.stdout}`);
  const j = await stack.cli([...stack.connection, '-o', 'json', 'audit', 'tail']);
  assert.equal(j.code, 0, j.stderr);
  const parsed = JSON.parse(j.stdout) as unknown;
  const all = JSON.stringify(parsed);
  assert.ok(all.includes(JSON.stringify('fake prompt \u009b31m').slice(1, -1)), `-o json carries the raw C1 exactly as stored:\n${all.slice(0, 2000)}`);
});

test('a hostile value and flag name echoed in problem messages, flags list/get: nothing raw on stdout or stderr', async (t) => {
  if (!stack) return t.skip('no sshd');
  for (const [argv, code] of [
    [['flags', 'set', 'max_page_size', HOSTILE], 2],
    [['flags', 'get', `nope${HOSTILE}`], 2],
    [['flags', 'list'], 0],
    [['flags', 'get', 'max_page_size'], 0],
  ] as Array<[string[], number]>) {
    const r = await stack.cli([...stack.connection, ...argv]);
    assert.equal(r.code, code, r.stderr);
    assertNoControls(r.stdout, `${argv[0]} ${argv[1]} stdout`);
    assertNoControls(r.stderr, `${argv[0]} ${argv[1]} stderr`);
    if (code !== 0) assert.ok(r.stderr.includes('\\x1b]52;c;aGk=\\x07\\x1b[2J'), `the echoed value is shown visibly:\n${r.stderr}`);
  }
});

test('in a real pty (tmux) audit tail does not clear the screen or move the cursor: the sequence is printed as text', async (t) => {
  if (!stack) return t.skip('no sshd');
  if (requireTmux(t as never)) return;
  const env = { ...stack.env };
  delete (env as Record<string, string | undefined>).NO_COLOR;
  // --wide: the whole reason on screen (by default a terminal table cuts it to one line ending in …).
  const run = runInTerminal(['sh', '-c', `echo MARKER-BEFORE; exec "$@"`, 'sh', process.execPath, CLI, ...stack.connection, '--wide', 'audit', 'tail'], env, ROOT);
  try {
    const { code, screen } = await run.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /MARKER-BEFORE/, `the screen was not cleared:\n${screen}`);
    assert.ok(screen.includes('\\x9b31m'), `the C1 is visible text:\n${screen}`);
    assert.match(screen, /\[1;1Hfake/, `the cursor move is text, not a move:\n${screen}`);
  } finally {
    run.kill();
  }
});
