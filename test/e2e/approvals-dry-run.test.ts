/**
 * --dry-run of each mutating command through the real CLI and sshd: the
 * answer says what would change, nothing changes, the audit log gets only
 * dry-run records. Setup: test/helpers/approvals-stack.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalsStack } from '../helpers/approvals-stack.js';

const st = approvalsStack();
const { ops } = st;
const cli = st.cli;
const audit = (s?: Parameters<typeof st.audit>[0]) => st.audit(s);
const applied = (s?: Parameters<typeof st.applied>[0]) => st.applied(s);

test('--dry-run on every mutating command: answers what would change, state and audit chain unchanged but for dry-run records', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const flags = JSON.parse((await cli(ops.vera, ['-o', 'json', 'flags', 'list'])).stdout).flags as Array<{ name: string; type: string; value: unknown }>;
  const bool = flags.find((f) => f.type === 'boolean')!;
  const check = async (runs: Array<[string[], RegExp]>) => {
    for (const [args, expect] of runs) {
      const r = await cli(ops.alice, ['--dry-run', ...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, expect, args.join(' '));
      assert.match(r.stderr, /nothing was changed/, args.join(' '));
    }
    return runs.length;
  };
  let before = audit().length;
  let count = await check([
    [['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0'], /wouldDelete/],
    [['tasks', 'run', 'recompute-totals'], /wouldCorrect/],
    [['flags', 'set', bool.name, String(!bool.value)], new RegExp(`${bool.name}: ${String(bool.value)} → ${String(!bool.value)}`)],
    [['flags', bool.value ? 'disable' : 'enable', bool.name], /→/],
    [['migrate', 'down', '--to', '0'], /revert 3 migration/],
    [['call', 'migrations.down', '--param', 'to=0'], /revert 3 migration/],
  ]);
  // Request records only: a periodic checkpoint (every 60 s by default) can
  // fall inside this test on a slow machine, and it changes nothing.
  const tail = () => audit().slice(before).filter((r) => r.type === undefined && r.method !== 'GET' && r.endpoint !== 'migrations.plan');
  const onlyDryRuns = () => {
    const added = tail();
    assert.ok(added.length >= count, `${added.length} records for ${count} dry-runs`);
    assert.ok(added.every((r) => r.outcome === 'dry-run' || r.outcome === 'denied'), JSON.stringify(added.map((r) => [r.endpoint, r.outcome])));
  };
  onlyDryRuns();
  // One migration pending, so that up has something to plan.
  const all = await applied();
  assert.equal((await cli(ops.bob, ['migrate', 'down', '--to', all[1]!, '--yes', '--break-glass', 'set up the dry-run test'])).code, 0);
  before = audit().length;
  count = await check([[['migrate', 'up'], /apply 1 migration/]]);
  const json = await cli(ops.alice, ['-o', 'json', '--dry-run', 'migrate', 'down', '--to', '0']);
  assert.equal(JSON.parse(json.stdout).dryRun, true);
  const viewer = await cli(ops.vera, ['--dry-run', 'flags', 'set', bool.name, 'true']);
  assert.equal(viewer.code, 3, 'the role is checked');
  onlyDryRuns();
  assert.deepEqual(await applied(), all.slice(0, 2));
  assert.deepEqual(JSON.parse((await cli(ops.vera, ['-o', 'json', 'flags', 'list'])).stdout).flags.map((f: { value: unknown }) => f.value), flags.map((f) => f.value));
  assert.equal(JSON.parse((await cli(ops.bob, ['-o', 'json', 'approvals', 'list', '--state', 'pending'])).stdout).approvals.length, 0, 'a dry-run is never held');
  assert.equal((await cli(ops.bob, ['audit', 'verify'])).code, 0);
});
