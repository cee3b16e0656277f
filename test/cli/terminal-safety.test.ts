/**
 * Server-derived strings never reach the terminal raw: a hostile flag value
 * (OSC 52 clipboard write, screen clear, cursor move, a fake prompt), C1
 * controls and bidi overrides are shown visibly in tables (drawn and piped),
 * fields, job log lines and problem messages; -o json stays byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness } from '../helpers/cli-harness.js';
import { sanitize, sanitizeDeep } from '../../src/cli/output/sanitize.js';

const h = fileHarness();
const HOSTILE = 'hello \x1b]52;c;aGFja2Vk\x07\x1b[2J\x1b[1;1Hfake prompt \x9b31m\u202etxt.exe\x7f';

test('sanitize: C0, ESC sequences, DEL, C1 and bidi overrides shown visibly; tab/newline only where allowed; our colours only when asked', () => {
  assert.equal(sanitize(HOSTILE), 'hello \\x1b]52;c;aGFja2Vk\\x07\\x1b[2J\\x1b[1;1Hfake prompt \\x9b31m\\u202etxt.exe\\x7f');
  assert.equal(sanitize('a\tb\nc\r'), 'a\\tb\\nc\\r');
  assert.equal(sanitize('a\tb\nc', { newlines: true }), 'a\tb\nc');
  assert.equal(sanitize('\x1b[31mred\x1b[39m \x1b[2J', { keepColors: true }), '\x1b[31mred\x1b[39m \\x1b[2J');
  assert.equal(sanitize('\x1b[8mhidden\x1b[0m', { keepColors: true }), '\\x1b[8mhidden\x1b[0m', 'conceal is not a colour');
  assert.equal(sanitize('plain café ✓ 日本'), 'plain café ✓ 日本', 'printable Unicode is untouched');
  assert.deepEqual(sanitizeDeep({ a: ['\x1b'], '\x07k': 1 }), { a: ['\\x1b'], '\\x07k': 1 });
});

function assertNoControls(s: string, where: string): void {
  // Our own colours (SGR … m) are allowed; nothing else of ESC, no BEL, no C1, no bidi.
  const stripped = s.replace(/\x1b\[[0-9;]*m/g, '');
  assert.doesNotMatch(stripped, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, `${where} carries a raw control:\n${JSON.stringify(s)}`);
}

test('a hostile flag value set through the real server is shown visibly by flags list/get, drawn and piped; -o json is exact', async () => {
  const set = await h.run(['flags', 'set', 'greeting', HOSTILE], { as: 'operator' });
  assert.equal(set.code, 0, set.stderr);
  assertNoControls(set.stdout + set.stderr, 'flags set');
  for (const argv of [['flags', 'list'], ['flags', 'get', 'greeting']]) {
    for (const tty of [false, true]) {
      const r = await h.run(argv, { as: 'viewer', tty });
      assert.equal(r.code, 0, r.stderr);
      assertNoControls(r.stdout, `${argv.join(' ')} (${tty ? 'terminal' : 'piped'}) stdout`);
      assertNoControls(r.stderr, `${argv.join(' ')} (${tty ? 'terminal' : 'piped'}) stderr`);
      assert.ok(r.stdout.includes('\\x1b]52'), `shown visibly: ${r.stdout}`);
    }
  }
  const j = await h.run(['-o', 'json', 'flags', 'get', 'greeting'], { as: 'viewer' });
  assert.equal(j.json().value, HOSTILE, '-o json is exact');
});

test('job log lines, task results and problem messages are sanitised too', async () => {
  const r = await h.run(['tasks', 'run', 'count', '--param', `label=${HOSTILE}`, '--param', 'steps=1', '-f'], { as: 'operator', tty: true });
  assert.equal(r.code, 0, r.stderr);
  assertNoControls(r.stdout, 'task result');
  const typo = await h.run(['flags', 'get', 'nope\x1b[2J'], { as: 'viewer' });
  assert.notEqual(typo.code, 0);
  assertNoControls(typo.stderr, 'problem message');
});
