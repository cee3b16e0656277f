/**
 * Prompts in a real pseudo-terminal (tmux): the host-key question on first
 * contact, and the confirmation of a destructive action — plain and on a
 * protected context where the operator must type the context name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, CLI, ROOT, type Stack } from '../helpers/stack.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

let stack: Stack | undefined;
before(async (t) => {
  if (requireTmux(t as never)) return;
  // One operator key: migrate down runs without the demo's approval here (test/e2e/approvals.test.ts has two).
  stack = await startStack(t as never, { demoArgs: ['--no-approvals'] });
});
after(async () => {
  await stack?.stop();
});

const auditLines = (s: Stack) => fs.readFileSync(s.service.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

function withFlag(args: string[], flag: string, value: string): string[] {
  const out = [...args];
  const i = out.indexOf(flag);
  out[i + 1] = value;
  return out;
}

test('unknown host on a TTY: the SHA256 fingerprint is shown, "y" records it, later runs need no question', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const kh = path.join(stack.dir, 'known_hosts_tofu');
  fs.writeFileSync(kh, `${stack.bastion.knownHostsLine}\n`, { mode: 0o600 });
  const args = withFlag(stack.connection, '--known-hosts', kh);
  const run = runInTerminal([process.execPath, CLI, ...args, 'health'], stack.env, ROOT);
  try {
    const screen = await run.waitFor(/Trust this service host key/);
    const fp = (await import('node:child_process')).execFileSync('ssh-keygen', ['-lf', `${stack.host.hostKeyPath}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    assert.ok(screen.includes(fp), `fingerprint ${fp} shown:\n${screen}`);
    run.type('y');
    const { code, screen: end } = await run.exit();
    assert.equal(code, 0, end);
  } finally {
    run.kill();
  }
  const recorded = fs.readFileSync(kh, 'utf8');
  assert.ok(recorded.split('\n').length > 2, 'a line was added');
  assert.ok(recorded.includes(stack.host.hostKeyLine.split(' ')[1]!) || /\|1\|/.test(recorded), 'the host key was recorded');
  const again = await stack.cli([...args, 'health']);
  assert.equal(again.code, 0, again.stderr);
});

test('unknown host on a TTY answered "n": exit 5, nothing recorded', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const kh = path.join(stack.dir, 'known_hosts_no');
  fs.writeFileSync(kh, `${stack.bastion.knownHostsLine}\n`, { mode: 0o600 });
  const run = runInTerminal([process.execPath, CLI, ...withFlag(stack.connection, '--known-hosts', kh), 'health'], stack.env, ROOT);
  try {
    await run.waitFor(/Trust this service host key/);
    run.type('n');
    const { code, screen } = await run.exit();
    assert.equal(code, 5);
    // A declined question is not ticked: ✖ and "no", never a green ✔.
    assert.match(screen, /✖ The authenticity of service host/, screen);
    assert.doesNotMatch(screen, /✔/, screen);
  } finally {
    run.kill();
  }
  assert.equal(fs.readFileSync(kh, 'utf8'), `${stack.bastion.knownHostsLine}\n`);
});

test('migrate up on a TTY: the plan is shown, then the question; "y" applies', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const run = runInTerminal([process.execPath, CLI, ...stack.connection, 'migrate', 'up'], stack.env, ROOT);
  try {
    const screen = await run.waitFor(/\?.*\(y\/N\)/);
    assert.match(screen, /0001/, `plan shown before the question:\n${screen}`);
    run.type('y');
    const { code, screen: end } = await run.exit();
    assert.equal(code, 0, end);
    assert.match(end, /succeeded/);
  } finally {
    run.kill();
  }
  const status = await stack.cli([...stack.connection, '-o', 'json', 'migrate', 'status']);
  assert.deepEqual(JSON.parse(status.stdout).pending, []);
});

test('protected context: the operator must type the context name; a wrong name changes nothing', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  stack.writeContext('prod');
  const file = path.join(stack.env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
  fs.appendFileSync(file, '    protected: true\n');
  const first = (await stack.cli(['-o', 'json', 'migrate', 'status'])).stdout;
  const firstApplied = JSON.parse(first).applied[0].name ?? JSON.parse(first).applied[0];

  const wrong = runInTerminal([process.execPath, CLI, 'migrate', 'down', '--to', String(firstApplied)], stack.env, ROOT);
  try {
    await wrong.waitFor(/Type its name/);
    wrong.type('staging');
    const { code } = await wrong.exit();
    assert.equal(code, 4);
  } finally {
    wrong.kill();
  }
  assert.ok(!auditLines(stack).some((r) => r.endpoint === 'migrations.down'), 'nothing was sent');

  const right = runInTerminal([process.execPath, CLI, 'migrate', 'down', '--to', String(firstApplied)], stack.env, ROOT);
  try {
    await right.waitFor(/Type its name/);
    right.type('prod');
    const { code, screen } = await right.exit();
    assert.equal(code, 0, screen);
  } finally {
    right.kill();
  }
  const after = JSON.parse((await stack.cli(['-o', 'json', 'migrate', 'status'])).stdout);
  assert.equal(after.applied.length, 1);
});
