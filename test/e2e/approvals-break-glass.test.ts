/**
 * Break-glass (with and without a TTY), a short configured expiry, a restart
 * with a pending approval, and a plan that moved before the approval, through
 * the real CLI and sshd. Setup: test/helpers/approvals-stack.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, ROOT } from '../helpers/stack.js';
import { runInTerminal } from '../helpers/tmux.js';
import { approvalsStack } from '../helpers/approvals-stack.js';

const st = approvalsStack();
const { ops } = st;
const cli = st.cli;
const audit = (s?: Parameters<typeof st.audit>[0]) => st.audit(s);
const applied = (s?: Parameters<typeof st.applied>[0]) => st.applied(s);
const conn = st.conn;

test('break-glass without a TTY: the reason is the acknowledgment; on a TTY it must be typed; --yes alone is held', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const bg = await cli(ops.alice, ['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0', '--yes', '--follow', '--break-glass', 'incident 12: disk full']);
  assert.equal(bg.code, 0, bg.stderr);
  const marked = audit().filter((r) => r.breakGlass === 'incident 12: disk full');
  assert.deepEqual(marked.map((r) => r.outcome), ['accepted', 'ok']);
  const list = JSON.parse((await cli(ops.bob, ['-o', 'json', 'approvals', 'list'])).stdout).approvals as Array<Record<string, any>>;
  assert.ok(list.some((x) => x.breakGlass?.reason === 'incident 12: disk full' && x.state === 'executed'), 'listed for review');
  const human = await cli(ops.bob, ['approvals', 'list']);
  assert.match(human.stdout, /break-glass/);
  // audit tail shows the run for what it was: a marker in STATUS, the break-glass reason in REASON.
  const tail = await cli(ops.bob, ['audit', 'tail', '-n', '30']);
  assert.equal(tail.code, 0, tail.stderr);
  assert.match(tail.stdout, /\ttasks\.run\taccepted\tBREAK-GLASS job started\t\w+\tBREAK-GLASS: incident 12: disk full$/m, tail.stdout);
  assert.match(tail.stdout, /\ttasks\.run\tok\tBREAK-GLASS job succeeded\t\w+\tBREAK-GLASS: incident 12: disk full$/m, tail.stdout);

  const viewer = await cli(ops.vera, ['tasks', 'run', 'recompute-totals', '--break-glass', 'x']);
  assert.notEqual(viewer.code, 0, 'a viewer cannot run an operator task at all');

  const term = runInTerminal([process.execPath, CLI, ...conn(ops.alice), '--yes', '--break-glass', 'incident 13', 'tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0'], ops.alice.env, ROOT);
  try {
    await term.waitFor(/Type "break glass" to go on/);
    term.type('yes');
    const r = await term.exit();
    assert.equal(r.code, 4, r.screen);
  } finally {
    term.kill();
  }
  assert.ok(!audit().some((r) => r.breakGlass === 'incident 13'), 'nothing was sent');
  const term2 = runInTerminal([process.execPath, CLI, ...conn(ops.alice), '--yes', '--break-glass', 'incident 14', 'tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0'], ops.alice.env, ROOT);
  try {
    await term2.waitFor(/Type "break glass" to go on/);
    term2.type('break glass');
    const r = await term2.exit();
    assert.equal(r.code, 0, r.screen);
  } finally {
    term2.kill();
  }
  assert.ok(audit().some((r) => r.breakGlass === 'incident 14' && r.outcome === 'accepted'));
});


test('expiry with a short configured expiry: the waiting command exits 4; restart keeps a pending approval; plan moved → exit 6', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  const short = await st.startService(['--approval-expiry', '2']);
  try {
    assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'], short)).code, 0);
    const r = await cli(ops.alice, ['migrate', 'down', '--to', '0', '--yes'], short);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /expired/);
    assert.equal((await applied(short)).length, 3);
    assert.ok(audit(short).some((x) => x.outcome === 'expired'));
  } finally {
    await short.stop();
  }

  const dataDir = fs.mkdtempSync(path.join(ops.alice.dir, 'data-'));
  let s2 = await st.startService([], dataDir);
  try {
    assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'], s2)).code, 0);
    const all = await applied(s2);
    const held = await cli(ops.alice, ['-o', 'json', 'migrate', 'down', '--to', all[0]!, '--yes', '--no-wait'], s2);
    assert.equal(held.code, 0, held.stderr);
    const id = JSON.parse(held.stdout).approval.id as string;
    await s2.stop();
    s2 = await st.startService([], dataDir);
    const shown = JSON.parse((await cli(ops.bob, ['-o', 'json', 'approvals', 'show', id], s2)).stdout);
    assert.equal(shown.state, 'pending', 'survives a restart');

    // The plan moves meanwhile (bob breaks glass on another revert): approving then runs nothing.
    const other = await cli(ops.bob, ['migrate', 'down', '--to', all[1]!, '--yes', '--break-glass', 'incident 20'], s2);
    assert.equal(other.code, 0, other.stderr);
    const moved = await cli(ops.bob, ['approvals', 'approve', id, '--yes'], s2);
    assert.equal(moved.code, 6, moved.stderr);
    assert.match(moved.stderr, /did not run/);
    assert.deepEqual(await applied(s2), [all[0], all[1]], 'only the break-glass revert ran');
  } finally {
    await s2.stop();
  }
});

