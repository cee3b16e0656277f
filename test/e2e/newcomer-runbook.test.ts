/**
 * What a newcomer runs into with a runbook (no TTY, the built CLI, real sshd
 * bastion and host, the demo service): under --follow -o json every stdout
 * line is one JSON object; an unknown host key on a fresh machine comes with
 * commands that work there as printed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startStack, runCli, privateHome, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

before(async (t) => {
  stack = await startStack(t as never);
  if (stack) assert.equal((await stack.cli([...stack.connection, 'migrate', 'up', '--yes'])).code, 0);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stack?.stop();
});

/** A line-by-line reader of stdout (a runbook's `while read`): every non-empty line must be one JSON object. */
function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout.split('\n').filter((l) => l !== '').map((l, i) => {
    let v: unknown;
    assert.doesNotThrow(() => (v = JSON.parse(l)), `line ${i + 1} is not one JSON document: ${l}\n--- stdout:\n${stdout}`);
    assert.ok(v && typeof v === 'object' && !Array.isArray(v), `line ${i + 1} is not an object: ${l}`);
    return v as Record<string, any>;
  });
}

test('--follow -o json is NDJSON to the last line: a held request under --no-wait, the job\'s logs', async (t) => {
  if (!stack) return t.skip('no sshd');
  // The demo holds purge-cancelled-orders for a second person: the approval is the one line.
  const held = await stack.cli([...stack.connection, '-o', 'json', 'tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=30', '--yes', '--follow', '--no-wait']);
  assert.equal(held.code, 0, held.stderr);
  const lines = jsonLines(held.stdout);
  assert.equal(lines.length, 1, held.stdout);
  assert.match(String(lines[0]!.approval?.id), /\S/);
  const run = await stack.cli([...stack.connection, '-o', 'json', 'tasks', 'run', 'recompute-totals', '--param', 'pauseMs=0']);
  assert.equal(run.code, 0, run.stderr);
  const logs = await stack.cli([...stack.connection, '-o', 'json', 'jobs', 'logs', JSON.parse(run.stdout).jobId, '--follow']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(jsonLines(logs.stdout).at(-1)!.type, 'end');
});

test('an unknown host key on a fresh machine: the hint\'s commands work as printed (ssh-keyscan for the bastion, doctor --accept-host-key behind it)', async (t) => {
  if (!stack) return t.skip('no sshd');
  // A new operator's machine: no ~/.config/opsctl, no ~/.ssh, no --known-hosts.
  const fresh = privateHome('opsctl-fresh-');
  cleanups.push(() => fs.rmSync(fresh.dir, { recursive: true, force: true }));
  const conn = [...stack.connection];
  conn.splice(conn.indexOf('--known-hosts'), 2);
  const ownKnownHosts = path.join(fresh.env.XDG_CONFIG_HOME!, 'opsctl', 'known_hosts');
  assert.equal(fs.existsSync(path.dirname(ownKnownHosts)), false);

  const first = await runCli([...conn, 'health'], fresh.env);
  assert.equal(first.code, 5, first.stderr);
  assert.match(first.stderr, /unknown host key for bastion .* no TTY to confirm it/);
  const keyscan = /^ {2}(mkdir -p -m 700 .* && ssh-keyscan .*)$/m.exec(first.stderr);
  assert.ok(keyscan, `a command for the first hop:\n${first.stderr}`);
  const ran = spawnSync('bash', ['-c', keyscan[1]!], { env: fresh.env, encoding: 'utf8' });
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(fs.statSync(path.dirname(ownKnownHosts)).mode & 0o777, 0o700);

  // The service host is behind the bastion: ssh-keyscan cannot reach it from here, opsctl can.
  const second = await runCli([...conn, 'health'], fresh.env);
  assert.equal(second.code, 5, second.stderr);
  assert.match(second.stderr, /unknown host key for host /);
  assert.doesNotMatch(second.stderr, /ssh-keyscan/, 'no keyscan hint for a hop behind a bastion');
  const doctor = /^ {2}opsctl doctor --accept-host-key (SHA256:\S+)/m.exec(second.stderr);
  assert.ok(doctor, second.stderr);
  const accepted = await runCli([...conn, 'doctor', '--accept-host-key', doctor[1]!], fresh.env);
  assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
  assert.match(accepted.stderr, /recorded host key SHA256:\S+ of host .* \(accepted with --accept-host-key\)/);
  const third = await runCli([...conn, 'health'], fresh.env);
  assert.equal(third.code, 0, third.stderr);

  // A fingerprint that is not the presented one changes nothing.
  const wrong = await runCli([...conn, '--known-hosts', path.join(fresh.dir, 'other_known_hosts'), 'doctor', '--accept-host-key', `SHA256:${'A'.repeat(43)}`], fresh.env);
  assert.equal(wrong.code, 5, wrong.stderr);
  assert.equal(fs.existsSync(path.join(fresh.dir, 'other_known_hosts')), false);
});
