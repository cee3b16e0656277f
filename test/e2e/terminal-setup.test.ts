/**
 * A new operator's first minutes in a real pseudo-terminal (tmux), against
 * OpenSSH and the demo service: `opsctl init` from an empty HOME, answered
 * question by question (key into the keychain, allowlist line, context, both
 * host keys, doctor) to a working `migrate status`; and a catalog-secret
 * param left out, asked for without echo.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, privateHome, runCli, CLI, ROOT, type Stack } from '../helpers/stack.js';
import { TEST_USER } from '../helpers/sshd.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

let stack: Stack | undefined;
before(async (t) => {
  if (requireTmux(t as never)) return;
  stack = await startStack(t as never);
});
after(async () => {
  await stack?.stop();
});

test('a secret param left out is asked for on the terminal; what is typed never shows', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const secret = 'hunter2-but-longer-than-16';
  const run = runInTerminal([process.execPath, CLI, ...stack.connection, 'tasks', 'run', 'rotate-webhook-secret', '--follow'], stack.env, ROOT);
  try {
    await run.waitFor(/secret for task "rotate-webhook-secret" \(not echoed\):/);
    run.type(secret.slice(0, 10), false);
    // Half typed: the terminal shows at most a mask, never the characters.
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(run.screen(), /hunter2/, `echoed while typing:\n${run.screen()}`);
    run.type(secret.slice(10));
    const { code, screen } = await run.exit();
    assert.equal(code, 0, screen);
    const fingerprint = `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`;
    assert.ok(screen.includes(fingerprint), `the service got exactly what was typed (${fingerprint}):\n${screen}`);
    assert.doesNotMatch(screen, /hunter2/, `the secret never on screen:\n${screen}`);
  } finally {
    run.kill();
  }
  assert.doesNotMatch(fs.readFileSync(stack.service.auditLog, 'utf8'), /hunter2/, 'nor in the audit log');
});

function requireKeyring(t: { skip(m: string): void }): boolean {
  if (process.env.OPSCTL_TEST_KEYRING === '1' && process.env.DBUS_SESSION_BUS_ADDRESS) return false;
  const why = 'no test keyring (run through node scripts/test.mjs, which starts gnome-keyring in dbus-run-session)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${why}`);
  t.skip(why);
  return true;
}

test('opsctl init on a terminal, from an empty HOME: every question answered, then migrate status works', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  if (requireKeyring(t)) return;
  const s = stack;
  const { dir: home, env } = privateHome('opsctl-init-tty-');
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  // The keychain is the session's Secret Service; everything else is this empty HOME.
  env.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS!;
  const keyName = `opsctl-init-tty-${process.pid}-${Date.now().toString(36)}`;
  t.after(async () => {
    const { keychainDelete } = await import('../../src/cli/identity/keychain.js');
    await keychainDelete(keyName).catch(() => false);
  });

  const run = runInTerminal([process.execPath, CLI, 'init', '--key-name', keyName], env, ROOT);
  try {
    await run.waitFor(/Context name:/);
    run.type('lab');
    await run.waitFor(/Service host \[user@\]host\[:port\]:/);
    run.type(`${TEST_USER}@127.0.0.1:${s.host.port}`);

    // The key is generated into the keychain and its allowlist line shown;
    // the service admin (this test) adds it, and SSH access to both hops is
    // granted the usual way (doctor's fix line says how when it is missing).
    const shown = await run.waitFor(/role="operator" ssh-ed25519 \S+/);
    assert.match(shown, new RegExp(`generated key "${keyName}"`), shown);
    const line = /role="operator" (ssh-ed25519 \S+)/.exec(shown)!;
    fs.appendFileSync(s.service.authorizedKeysFile, `${line[0]}\n`);
    for (const sshd of [s.bastion, s.host]) fs.appendFileSync(path.join(sshd.dir, 'authorized_keys'), `${line[1]}\n`);

    await run.waitFor(/Bastion chain \(empty for none\):/);
    run.type(`${TEST_USER}@127.0.0.1:${s.bastion.port}`);
    await run.waitFor(/Internal port on the service host's loopback:/);
    run.type(String(s.service.internal.port));

    // Doctor connects hop by hop: first the bastion's key, then the host's, each named.
    await run.waitFor(/Trust this bastion key and record it in/);
    run.type('y');
    await run.waitFor(/Trust this service host key and record it in/);
    run.type('y');
    const { code, screen } = await run.exit(90_000);
    assert.equal(code, 0, screen);
    assert.match(screen, /context "lab" saved/, screen);
    assert.match(screen, /role\s+operator/, `doctor shows the role the service sees:\n${screen}`);
  } finally {
    run.kill();
  }
  const kh = fs.readFileSync(path.join(env.XDG_CONFIG_HOME!, 'opsctl', 'known_hosts'), 'utf8');
  assert.equal(kh.trim().split('\n').length, 2, `both host keys recorded:\n${kh}`);
  const config = fs.readFileSync(path.join(env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml'), 'utf8');
  assert.match(config, new RegExp(`identity: keychain:${keyName}`), config);
  assert.match(config, new RegExp(`port: ${s.service.internal.port}`), config);

  // The saved context, the keychain key and the recorded host keys: no flags.
  const status = await runCli(['migrate', 'status', '-o', 'json'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.ok(Array.isArray(JSON.parse(status.stdout).pending), status.stdout);
});
