/**
 * Approvals through the real CLI and a real sshd, two admins' keys and a pty
 * (tmux): the whole flow, the refusals, --no-wait, rejection, completion.
 * Setup: test/helpers/approvals-stack.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, ROOT, runCli } from '../helpers/stack.js';
import { runInTerminal } from '../helpers/tmux.js';
import { approvalsStack } from '../helpers/approvals-stack.js';

const st = approvalsStack();
const { ops } = st;
const cli = st.cli;
const audit = (s?: Parameters<typeof st.audit>[0]) => st.audit(s);
const applied = (s?: Parameters<typeof st.applied>[0]) => st.applied(s);
const conn = st.conn;

test('the whole flow: held, refused for the requester and a viewer, typed approval on a pty, then alice\'s command goes on', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const all = await applied();
  assert.equal(all.length, 3);
  const eps = await cli(ops.vera, ['endpoints']);
  assert.ok(eps.stdout.split('\n').some((l) => /^migrations\.down\t.*\[needs 1 approval, break-glass\]/.test(l)), eps.stdout);

  // alice's down is held: her command waits (on a pty: a spinner), nothing runs yet.
  const alice = runInTerminal([process.execPath, CLI, ...conn(ops.alice), '--reason', 'roll back release 42', 'migrate', 'down', '--to', all[0]!, '--yes'], ops.alice.env, ROOT);
  try {
    await alice.waitFor(/waiting for approval [A-Za-z0-9]{16}/);
    const screen = alice.screen();
    const id = /held as approval ([A-Za-z0-9]{16})/.exec(screen)![1]!;
    assert.match(screen, new RegExp(`a second person runs:\\s+opsctl approvals approve ${id}`));
    assert.equal((await applied()).length, 3, 'never run early');

    // What bob reviews: exactly what will run, with the digest checked locally.
    const show = await cli(ops.bob, ['approvals', 'show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /endpoint\s+migrations\.down/);
    assert.match(show.stdout, /request\s+POST \/v1\/migrations\/down/);
    assert.match(show.stdout, /requester\s+alice \(admin/);
    assert.match(show.stdout, /reason\s+roll back release 42/);
    assert.match(show.stdout, /digest\s+[0-9a-f]{64} \(matches the signed request\)/);
    assert.match(show.stdout, /plan when requested\n\s+revert 2 migration\(s\):\n\s+0003-create-order-events\n\s+0002-add-discount-column/);
    assert.match(show.stdout, /dry-run now\n\s+revert 2 migration/);
    const shownJson = JSON.parse((await cli(ops.bob, ['-o', 'json', 'approvals', 'show', id])).stdout);
    assert.deepEqual(shownJson.params.to, all[0]);

    // Refusals through the CLI: self (exit 3), a viewer (exit 3), no TTY without --yes (exit 4).
    // The requester is told by the CLI before anything is shown, asked or sent: same words, same exit code as the server's approval.self.
    const approveRecords = () => audit().filter((r) => r.endpoint === 'approvals.approve').length;
    const sentBefore = approveRecords();
    const self = await cli(ops.alice, ['approvals', 'approve', id, '--yes']);
    assert.equal(self.code, 3, self.stderr);
    assert.match(self.stderr, /^opsctl: alice asked for this request and cannot approve it; another person must$/m);
    assert.match(self.stderr, new RegExp(`A second person runs:  opsctl approvals approve ${id}`));
    assert.equal(JSON.parse((await cli(ops.alice, ['-o', 'json', 'approvals', 'approve', id, '--yes'])).stderr).error.code, 'approval.self');
    const selfTty = runInTerminal([process.execPath, CLI, ...conn(ops.alice), 'approvals', 'approve', id], ops.alice.env, ROOT);
    try {
      const r = await selfTty.exit();
      assert.equal(r.code, 3, r.screen);
      assert.match(r.screen, /alice asked for this request and cannot approve it/);
      assert.doesNotMatch(r.screen, /Type "approve"|digest/, 'refused before the request is shown or the question asked');
    } finally {
      selfTty.kill();
    }
    assert.equal(approveRecords(), sentBefore, 'no approve request was sent for alice');
    const viewer = await cli(ops.vera, ['approvals', 'approve', id, '--yes']);
    assert.equal(viewer.code, 3, viewer.stderr);
    const noTty = await cli(ops.bob, ['approvals', 'approve', id]);
    assert.equal(noTty.code, 4, noTty.stderr);

    // bob approves on a terminal: shown, then typed.
    const bob = runInTerminal([process.execPath, CLI, ...conn(ops.bob), '--reason', 'plan checked', 'approvals', 'approve', id], ops.bob.env, ROOT);
    try {
      await bob.waitFor(/Type "approve" to approve/);
      assert.match(bob.screen(), /Run migrations\.down as alice\?/);
      assert.match(bob.screen(), /matches the signed request/);
      bob.type('approve');
      const r = await bob.exit();
      assert.equal(r.code, 0, r.screen);
      assert.match(r.screen, /approved: migrations\.down ran as alice/);
    } finally {
      bob.kill();
    }
    const done = await alice.exit();
    assert.equal(done.code, 0, done.screen);
    assert.match(done.screen, /approved by bob; migrations\.down ran/);
    assert.match(done.screen, /reverted 2 migration\(s\)/);
  } finally {
    alice.kill();
  }
  assert.deepEqual(await applied(), [all[0]]);
  const recs = audit().filter((r) => r.endpoint === 'migrations.down');
  assert.deepEqual(recs.map((r) => `${r.outcome}:${r.principal}`), ['pending:alice', 'approved:bob', 'accepted:alice', 'ok:alice']);
  assert.equal(recs[1]!.reason, 'plan checked');
  assert.deepEqual(recs[2]!.approval.approvers, ['bob']);
  const verify = await cli(ops.bob, ['audit', 'verify']);
  assert.equal(verify.code, 0, verify.stderr);
});


test('--no-wait prints {approval} and exits 0; a rejection makes a waiting command exit 4; completion offers the pending id', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const held = await cli(ops.alice, ['-o', 'json', 'tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=30', '--yes', '--no-wait']);
  assert.equal(held.code, 0, held.stderr);
  const a = JSON.parse(held.stdout).approval;
  assert.match(a.id, /^[A-Za-z0-9]{16}$/);
  assert.equal(a.endpoint, 'tasks.run');
  assert.match(held.stderr, new RegExp(`a second person runs:\\s+opsctl approvals approve ${a.id}`));
  const comp = await runCli(['__complete', 'fish', '--', 'opsctl', 'approvals', 'approve', ''], ops.alice.env);
  assert.match(comp.stdout, new RegExp(a.id), 'the held id is offered by TAB');

  const rej = await cli(ops.bob, ['--reason', 'not during business hours', 'approvals', 'reject', a.id]);
  assert.equal(rej.code, 0, rej.stderr);
  const late = await cli(ops.bob, ['approvals', 'approve', a.id, '--yes']);
  assert.equal(late.code, 6, `a decided approval is a conflict: ${late.stderr}`);

  // A waiting requester learns about the rejection: exit 4.
  const waiting = cli(ops.alice, ['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=30', '--yes']);
  const id = await st.pendingId();
  assert.equal((await cli(ops.bob, ['approvals', 'reject', id])).code, 0);
  const r = await waiting;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /rejected by bob; nothing ran/);
  assert.ok(!audit().some((x) => x.endpoint === 'tasks.run' && x.outcome === 'accepted'), 'the purge never ran');
});

