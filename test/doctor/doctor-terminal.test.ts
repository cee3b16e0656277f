/**
 * doctor in a real terminal (tmux) with neither host key known yet: it asks
 * exactly as every other command does — first about the bastion, then about
 * the service host, each question naming which one it is — records both
 * answers, and walks on to the role the service gives the key. The time it
 * reports for each SSH hop is the hop's, not the time the operator took to
 * answer (here 3 s per question).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, CLI, ROOT } from '../helpers/stack.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

const ANSWER_AFTER_MS = 3000;

test('doctor on a TTY: two unknown host keys, two questions that say bastion and service host, then every check passes', async (t) => {
  if (requireTmux(t)) return;
  const stack = await startStack(t);
  if (!stack) return;
  const kh = path.join(stack.dir, 'known_hosts_empty');
  fs.writeFileSync(kh, '', { mode: 0o600 });
  const args = [...stack.connection];
  args[args.indexOf('--known-hosts') + 1] = kh;
  const run = runInTerminal([process.execPath, CLI, ...args, 'doctor'], stack.env, ROOT);
  try {
    const first = await run.waitFor(/Trust this (bastion|service host) key/);
    assert.match(first, new RegExp(`The authenticity of bastion "[^"]+" \\(127\\.0\\.0\\.1:${stack.bastion.port}\\) can't be established`), first);
    assert.doesNotMatch(first, /service host/, 'one question at a time, the bastion first');
    assert.doesNotMatch(first, /no TTY/);
    await new Promise((r) => setTimeout(r, ANSWER_AFTER_MS));
    run.type('y');
    const second = await run.waitFor(/Trust this service host key/);
    assert.match(second, new RegExp(`The authenticity of service host "[^"]+" \\(127\\.0\\.0\\.1:${stack.host.port}\\) can't be established`), second);
    await new Promise((r) => setTimeout(r, ANSWER_AFTER_MS));
    run.type('y');
    const { code, screen } = await run.exit();
    assert.equal(code, 0, screen);
    assert.match(screen, /✓ role\s+admin as "e2e-operator"/);
    assert.match(screen, /every hop works/);
    assert.equal(screen.match(/✗/g), null, screen);
    for (const hop of ['bastion', 'host']) {
      const ms = Number(new RegExp(`✓ ${hop} .* ssh ok\\s+(\\d+) ms`).exec(screen)?.[1]);
      assert.ok(ms >= 0 && ms < ANSWER_AFTER_MS, `${hop}: ${ms} ms reported, the ${ANSWER_AFTER_MS} ms spent answering excluded:\n${screen}`);
    }
  } finally {
    run.kill();
    await stack.stop();
  }
});

test('doctor without a TTY and an unknown host key: one failure line with the fix, exit 5', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    const kh = path.join(stack.dir, 'known_hosts_bastion_only');
    fs.writeFileSync(kh, `${stack.bastion.knownHostsLine}\n`, { mode: 0o600 });
    const args = [...stack.connection];
    args[args.indexOf('--known-hosts') + 1] = kh;
    const r = await stack.cli([...args, 'doctor']);
    assert.equal(r.code, 5, r.stderr);
    assert.equal((r.stdout + r.stderr).match(/unknown host key/g)?.length, 1, r.stdout + r.stderr);
    // The fix works behind a bastion and on a fresh machine: doctor itself records the checked key.
    const fix = /fix: (opsctl doctor --accept-host-key (SHA256:\S+))/.exec(r.stdout);
    assert.ok(fix, r.stdout);
    assert.match(r.stderr, /doctor: host .* failed \(see above\)/);
    const again = await stack.cli([...args, 'doctor', '--accept-host-key', fix[2]!]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(fs.readFileSync(kh, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${stack.host.port} ssh-ed25519 `, 'm'));
  } finally {
    await stack.stop();
  }
});
