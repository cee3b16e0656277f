/**
 * Approvals through the real CLI: two operators' keys (alice and bob, both
 * admins, plus vera, a viewer), each with their own HOME, a real OpenSSH sshd
 * as the service host, the demo service (one approval for migrations.down and
 * purge-cancelled-orders, break-glass allowed), and a real pty (tmux) for the
 * typed confirmations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { CLI, ROOT, ensureBuilt, privateHome, runCli, type CliResult } from '../helpers/stack.js';
import { startSshd, requireSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

interface Operator {
  key: TestKey;
  env: Record<string, string>;
  dir: string;
}

let sshd: Sshd | undefined;
let svc: DemoService | undefined;
let knownHosts = '';
const ops: Record<'alice' | 'bob' | 'vera', Operator> = {} as never;
let skipped = false;

before(async (t) => {
  if (requireSshd(t as unknown as TestContext) || requireTmux(t as unknown as TestContext)) {
    skipped = true;
    return;
  }
  ensureBuilt();
  for (const name of ['alice', 'bob', 'vera'] as const) {
    const { dir, env } = privateHome(`opsctl-approvals-${name}-`);
    ops[name] = { key: generateKeyPair(name, { dir }), env, dir };
  }
  sshd = await startSshd({ authorizedKeys: Object.values(ops).map((o) => o.key.publicLine) });
  knownHosts = path.join(ops.alice.dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
  svc = await startService();
});

after(async () => {
  await svc?.stop();
  await sshd?.stop();
  for (const o of Object.values(ops)) fs.rmSync(o.dir, { recursive: true, force: true });
});

function allowlist(): string {
  return `${ops.alice.key.authorizedKeysLine('admin')}\n${ops.bob.key.authorizedKeysLine('admin')}\n${ops.vera.key.authorizedKeysLine('viewer')}\n`;
}

function startService(extraArgs: string[] = [], dataDir?: string): Promise<DemoService> {
  return startDemoService({ authorizedKeys: allowlist(), extraArgs, ...(dataDir ? { dataDir } : {}) });
}

function conn(who: Operator, service: DemoService = svc!): string[] {
  return ['--host', `${TEST_USER}@127.0.0.1:${sshd!.port}`, '--port', String(service.internal.port), '--identity', who.key.privatePath, '--known-hosts', knownHosts];
}

function cli(who: Operator, args: string[], service?: DemoService): Promise<CliResult> {
  return runCli([...conn(who, service), ...args], who.env, { timeoutMs: 90_000 });
}

function audit(service: DemoService = svc!): Array<Record<string, any>> {
  return fs.readFileSync(service.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

async function pendingId(service: DemoService = svc!, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await cli(ops.bob, ['-o', 'json', 'approvals', 'list', '--state', 'pending'], service);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout).approvals as Array<{ id: string }>;
    if (list.length) return list[0]!.id;
    if (Date.now() > deadline) throw new Error('no pending approval appeared');
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function applied(service: DemoService = svc!): Promise<string[]> {
  const r = await cli(ops.vera, ['-o', 'json', 'migrate', 'status'], service);
  return (JSON.parse(r.stdout).applied as Array<{ name: string } | string>).map((m) => (typeof m === 'string' ? m : m.name));
}

test('the whole flow: held, refused for the requester and a viewer, typed approval on a pty, then alice\'s command goes on', async (t) => {
  if (skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const all = await applied();
  assert.equal(all.length, 3);
  const eps = await cli(ops.vera, ['endpoints']);
  assert.ok(eps.stdout.split('\n').some((l) => /^migrations\.down\t.*\t1 approval, break-glass\t/.test(l)), eps.stdout);

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
    const self = await cli(ops.alice, ['approvals', 'approve', id, '--yes']);
    assert.equal(self.code, 3, self.stderr);
    assert.match(self.stderr, /approval\.self/);
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
  if (skipped) return t.skip('no sshd/tmux');
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
  const id = await pendingId();
  assert.equal((await cli(ops.bob, ['approvals', 'reject', id])).code, 0);
  const r = await waiting;
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /rejected by bob; nothing ran/);
  assert.ok(!audit().some((x) => x.endpoint === 'tasks.run' && x.outcome === 'accepted'), 'the purge never ran');
});

test('break-glass without a TTY: the reason is the acknowledgment; on a TTY it must be typed; --yes alone is held', async (t) => {
  if (skipped) return t.skip('no sshd/tmux');
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0);
  const bg = await cli(ops.alice, ['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0', '--yes', '--follow', '--break-glass', 'incident 12: disk full']);
  assert.equal(bg.code, 0, bg.stderr);
  const marked = audit().filter((r) => r.breakGlass === 'incident 12: disk full');
  assert.deepEqual(marked.map((r) => r.outcome), ['accepted', 'ok']);
  const list = JSON.parse((await cli(ops.bob, ['-o', 'json', 'approvals', 'list'])).stdout).approvals as Array<Record<string, any>>;
  assert.ok(list.some((x) => x.breakGlass?.reason === 'incident 12: disk full' && x.state === 'executed'), 'listed for review');
  const human = await cli(ops.bob, ['approvals', 'list']);
  assert.match(human.stdout, /break-glass/);

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
  if (skipped) return t.skip('no sshd/tmux');
  const short = await startService(['--approval-expiry', '2']);
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
  let s2 = await startService([], dataDir);
  try {
    assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'], s2)).code, 0);
    const all = await applied(s2);
    const held = await cli(ops.alice, ['-o', 'json', 'migrate', 'down', '--to', all[0]!, '--yes', '--no-wait'], s2);
    assert.equal(held.code, 0, held.stderr);
    const id = JSON.parse(held.stdout).approval.id as string;
    await s2.stop();
    s2 = await startService([], dataDir);
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

test('--dry-run on every mutating command: answers what would change, state and audit chain unchanged but for dry-run records', async (t) => {
  if (skipped) return t.skip('no sshd/tmux');
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
  const tail = () => audit().slice(before).filter((r) => r.method !== 'GET' && r.endpoint !== 'migrations.plan');
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
