/**
 * migrate up/down against a real internal port with umzug over a real SQLite
 * file and a database lock: the refusal without TTY/--yes (nothing sent, the
 * audit log proves it), prompts answered on a terminal, the reviewed plan's
 * hash as expectedPlan, a plan that changes under review (6), a held lock (6),
 * a failing migration (1), protected contexts and --reason.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCliHarness, cleanupKeys, stripAnsi, MIGRATIONS, type CliHarness, type HarnessOptions } from '../helpers/cli-harness.js';

after(() => cleanupKeys());

async function withHarness(fn: (h: CliHarness) => Promise<void>, opts: HarnessOptions = {}): Promise<void> {
  const h = await startCliHarness(opts);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

const applied = async (h: CliHarness) => (await h.migrator.executed()).map((m) => m.name);
const endpointsIn = (records: Array<Record<string, any>>) => records.map((r) => r.endpoint);

test('without a terminal and without --yes: exit 4 and not one request reaches the server', () =>
  withHarness(async (h) => {
    const before = h.audit().length;
    const up = await h.run(['migrate', 'up']);
    assert.equal(up.code, 4, up.stderr);
    assert.match(up.stderr, /refusing to apply migrations without confirmation.*nothing was sent/);
    const down = await h.run(['migrate', 'down', '--to', '0']);
    assert.equal(down.code, 4, down.stderr);
    const json = await h.run(['-o', 'json', 'migrate', 'up', '--to', '0001-create-items']);
    assert.equal(json.code, 4);
    assert.equal(json.stdout, '');
    assert.equal(h.audit().length, before, 'the audit log has no new record: not even the plan was requested');
    assert.deepEqual(await applied(h), []);
  }));

test('on a terminal: the plan is shown, "n" declines (exit 4, nothing applied), "y" applies exactly the reviewed plan', () =>
  withHarness(async (h) => {
    const no = await h.run(['migrate', 'up'], { tty: true, answers: [{ when: /Apply 3 migration\(s\) on test\?/, send: 'n' }] });
    assert.equal(no.code, 4, no.stderr);
    assert.match(no.stderr, /not confirmed; nothing was changed/);
    assert.deepEqual(await applied(h), []);
    assert.ok(!endpointsIn(h.audit()).includes('migrations.up'));

    const yes = await h.run(['migrate', 'up'], { tty: true, answers: [{ when: /Apply 3 migration\(s\) on test\?/, send: 'y' }] });
    assert.equal(yes.code, 0, yes.stderr);
    const err = stripAnsi(yes.stderr);
    assert.ok(err.indexOf('Plan: apply 3 migration(s)') < err.indexOf('Apply 3 migration(s) on test?'), 'plan shown before the question');
    assert.match(stripAnsi(yes.stdout), /│ 1 │ 0001-create-items\s+│ up/);
    assert.match(err, /100%/, 'progress drawn on the terminal');
    assert.match(err, /job \S+ succeeded/);
    assert.match(yes.stdout, /applied 3 migration\(s\): 0001-create-items, 0002-add-price, 0003-create-orders/);
    assert.deepEqual(await applied(h), MIGRATIONS);
    const plan = h.audit().filter((r) => r.endpoint === 'migrations.plan').pop()!;
    const up = h.audit().find((r) => r.endpoint === 'migrations.up' && r.outcome === 'accepted')!;
    assert.match(up.params.expectedPlan, /^[0-9a-f]{64}$/);
    assert.equal(plan.outcome, 'ok');
  }));

test('--yes -o json: one document with the job outcome; a second run has nothing to do and sends no up', () =>
  withHarness(async (h) => {
    const r = await h.run(['-o', 'json', '--yes', '--reason', 'release 42 – café', 'migrate', 'up', '--to', '0002-add-price']);
    assert.equal(r.code, 0, r.stderr);
    const doc = r.json();
    assert.equal(doc.state, 'succeeded');
    assert.deepEqual(doc.plan, ['0001-create-items', '0002-add-price']);
    assert.match(doc.jobId, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(doc.result.applied, ['0001-create-items', '0002-add-price']);
    const accepted = h.audit().find((r) => r.endpoint === 'migrations.up' && r.outcome === 'accepted')!;
    assert.equal(accepted.reason, 'release 42 – café');
    assert.equal(accepted.params.expectedPlan, doc.planHash);

    assert.equal((await h.run(['--yes', 'migrate', 'up'])).code, 0);
    const ups = () => h.audit().filter((r) => r.endpoint === 'migrations.up').length;
    const count = ups();
    const again = await h.run(['--yes', 'migrate', 'up']);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /nothing to migrate/);
    assert.equal(again.stdout, '');
    assert.equal(ups(), count, 'no migrations.up was sent');
  }));

test('the plan changes while the operator reviews it: exit 6, "re-run", nothing applied', () =>
  withHarness(async (h) => {
    const r = await h.run(['migrate', 'up'], {
      tty: true,
      answers: [{
        when: /Apply 3 migration\(s\)/,
        // Someone else applies a migration between the review and the answer.
        before: async () => void (await h.migrator.up({ to: '0001-create-items' })),
        send: 'y',
      }],
    });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /the plan changed since you reviewed it/);
    assert.match(r.stderr, /Re-run/);
    assert.deepEqual(await applied(h), ['0001-create-items'], 'only the other operator\'s migration');
  }));

test('the migration lock is held: exit 6 naming the holder; nothing applied', () =>
  withHarness(async (h) => {
    assert.deepEqual(await h.lock.acquire('bob (SHA256:abc) request r-1'), { acquired: true });
    const r = await h.run(['--yes', 'migrate', 'up']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /migrations are locked by bob \(SHA256:abc\) request r-1/);
    assert.match(r.stderr, /conflict\.locked, HTTP 409/);
    assert.deepEqual(await applied(h), []);
  }));

test('a migration fails: the job fails and the command exits 1', () =>
  withHarness(async (h) => {
    const r = await h.run(['--yes', 'migrate', 'up']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /job \S+ failed: .*0002-add-price failed on purpose/);
    assert.deepEqual(await applied(h), ['0001-create-items']);
    const j = await h.run(['-o', 'json', '--yes', 'migrate', 'up']);
    assert.equal(j.code, 1);
    assert.equal(j.json().state, 'failed');
  }, { failingMigration: '0002-add-price' }));

test('down: reviewed revert plan with its hash, newest first; --to 0 reverts all; an unknown target is a usage error', () =>
  withHarness(async (h) => {
    await h.migrator.up();
    const r = await h.run(['--yes', 'migrate', 'down', '--to', '0001-create-items']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').slice(0, 3).join('\n'), '#\tMIGRATION\tDIRECTION\n1\t0003-create-orders\tdown\n2\t0002-add-price\tdown');
    assert.deepEqual(await applied(h), ['0001-create-items']);
    const accepted = h.audit().find((x) => x.endpoint === 'migrations.down' && x.outcome === 'accepted')!;
    assert.match(accepted.params.expectedPlan, /^[0-9a-f]{64}$/);

    const bad = await h.run(['--yes', 'migrate', 'down', '--to', '0003-create-orders']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--to: no applied migration named "0003-create-orders"/);

    const all = await h.run(['-o', 'json', '--yes', 'migrate', 'down', '--to', '0']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.json().plan, ['0001-create-items']);
    assert.deepEqual(await applied(h), []);
    const none = await h.run(['--yes', 'migrate', 'down', '--to', '0']);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /nothing to revert/);
  }));

test('a protected context makes the operator type its name; a require-reason context needs --reason', () =>
  withHarness(async (h) => {
    const wrong = await h.run(['--context', 'prod', 'migrate', 'up'], { tty: true, answers: [{ when: /protected\. Type its name/, send: 'test' }] });
    assert.equal(wrong.code, 4, wrong.stderr);
    assert.deepEqual(await applied(h), []);
    const right = await h.run(['--context', 'prod', 'migrate', 'up', '--to', '0001-create-items'], { tty: true, answers: [{ when: /Context "prod" is protected/, send: 'prod' }] });
    assert.equal(right.code, 0, right.stderr);
    assert.deepEqual(await applied(h), ['0001-create-items']);

    const before = (await h.auditSettled()).length;
    const noReason = await h.run(['--context', 'strict', '--yes', 'migrate', 'up']);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /requires --reason/);
    assert.equal(h.audit().length, before);
    const withReason = await h.run(['--context', 'strict', '--yes', '--reason', 'INC-7', 'migrate', 'up']);
    assert.equal(withReason.code, 0, withReason.stderr);
    assert.deepEqual(await applied(h), MIGRATIONS);
  }));
