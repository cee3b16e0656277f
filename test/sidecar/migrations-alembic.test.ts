/**
 * Migrations over commands, with Debian's alembic and SQLite and the
 * shipped example (examples/sidecar/python-app): the status command's
 * output is the migration list; a plan that changed between plan and up
 * is 412 and applies nothing; the lock makes a second migration — and an
 * exec endpoint that takes the same lock — 409; the job streams alembic's
 * output with progress per migration; down reverts to a target or to base;
 * the maintenance command works on the migrated database.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { auditRecords, copyExample, editYaml, eventually, requireTools, startOpsctlPort, tempDir, type RunningPort } from '../helpers/sidecar.js';
import { SignedClient, makeKey, waitForJob, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let port: RunningPort | undefined;
let admin: SignedClient;
let skipped = false;

const migration = (rev: string, down: string, body: string) => `"""${rev}"""
from alembic import op
import sqlalchemy as sa
import time

revision = "${rev}"
down_revision = "${down}"
branch_labels = None
depends_on = None


def upgrade():
${body}


def downgrade():
    op.drop_table("t${rev}")
`;

before(async () => {
  if (!fs.existsSync('/usr/bin/python3') || spawnSync('/usr/bin/python3', ['-m', 'alembic', '--version']).status !== 0) {
    skipped = true;
    return;
  }
  dir = copyExample('python-app', tempDir('opsctl-alembic-'));
  const alice = makeKey(dir, 'alice');
  writeAllowlist(path.join(dir, 'opsctl_keys'), [[alice, 'admin']]);
  editYaml(path.join(dir, 'opsctl-port.yaml'), (doc) => {
    doc.set('port', 0);
    doc.setIn(['ofrep', 'listen'], '127.0.0.1:0');
    doc.delete('health'); // the shop itself is not running here
  });
  port = await startOpsctlPort(path.join(dir, 'opsctl-port.yaml'));
  admin = new SignedClient({ host: '127.0.0.1', port: port.port }, alice);
});
after(async () => {
  await port?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const reason = { 'opsctl-reason': 'test' };

test('status, a plan that changed before up (412, nothing applied), up with progress, the lock, down', async (t) => {
  if (skipped && requireTools(t, 'alembic')) return;
  if (requireTools(t, 'sqlite3')) return;
  const status = await admin.call('migrations.status');
  assert.equal(status.status, 200, status.text);
  assert.deepEqual(status.json, { applied: [], pending: [{ name: '0001' }, { name: '0002' }, { name: '0003' }] });

  const plan = await admin.call('migrations.plan', {});
  assert.deepEqual(plan.json.pending, ['0001', '0002', '0003']);
  // A migration lands between review and apply.
  fs.writeFileSync(path.join(dir, 'migrations/versions/0004_t.py'), migration('0004', '0003', '    op.create_table("t0004", sa.Column("id", sa.Integer, primary_key=True))'));
  const stale = await admin.call('migrations.up', { expectedPlan: plan.json.planHash }, { headers: reason });
  assert.equal(stale.status, 412, stale.text);
  assert.equal(stale.json.code, 'precondition.failed');
  assert.deepEqual(stale.json.pending, ['0001', '0002', '0003', '0004']);
  const tablesNow = () => spawnSync('sqlite3', [path.join(dir, 'var/app.db'), '.tables'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(tablesNow(), /items/, 'nothing was applied');

  const up = await admin.call('migrations.up', { expectedPlan: stale.json.planHash }, { headers: reason });
  assert.equal(up.status, 202, up.text);
  const events = await admin.stream(`/v1/jobs/${up.json.jobId}/events`);
  const end = events.lines.find((e) => e.type === 'end') as Record<string, any>;
  assert.equal(end.state, 'succeeded', JSON.stringify(events.lines));
  assert.deepEqual(end.result.applied, ['0001', '0002', '0003', '0004']);
  const logs = events.lines.filter((e) => e.type === 'log').map((e) => String(e.message));
  assert.ok(logs.some((l) => /Running upgrade 0001 -> 0002, add price/.test(l)), 'alembic\'s own output is the job\'s log');
  assert.deepEqual(logs.filter((l) => /^applied /.test(l)), ['applied 0001', 'applied 0002', 'applied 0003', 'applied 0004'], 'progress per migration, in order');
  const tables = tablesNow();
  assert.match(tables, /items/);
  assert.match(tables, /t0004/);
  await eventually(() => auditRecords(path.join(dir, 'var/opsctl-port/audit.jsonl')).some((r) => r.jobId === up.json.jobId && r.outcome === 'ok'), 5000, 'the job end record');
  const rec = auditRecords(path.join(dir, 'var/opsctl-port/audit.jsonl')).find((r) => r.jobId === up.json.jobId && r.outcome === 'ok')!;
  assert.deepEqual(rec.result, { exitCode: 0, signal: null, target: '0004' });

  // A slow migration holds the lock: a second migration and an exec endpoint with lock: migrations get 409.
  fs.writeFileSync(path.join(dir, 'migrations/versions/0005_slow.py'), migration('0005', '0004', '    time.sleep(3)\n    op.create_table("t0005", sa.Column("id", sa.Integer, primary_key=True))'));
  const slow = await admin.call('migrations.up', {}, { headers: reason });
  assert.equal(slow.status, 202, slow.text);
  const second = await admin.call('migrations.up', {}, { headers: reason });
  assert.equal(second.status, 409, second.text);
  assert.equal(second.json.code, 'conflict.locked');
  assert.match(second.json.holder, /alice/);
  const vacuum = await admin.send('POST', '/v1/shop/vacuum', { body: {} });
  assert.equal(vacuum.status, 409, 'an exec endpoint with lock: migrations waits for no migration');
  assert.equal((await waitForJob(admin, slow.json.jobId, 60_000)).state, 'succeeded');

  // The maintenance command on the migrated database.
  spawnSync('sqlite3', [path.join(dir, 'var/app.db'), "INSERT INTO items (name) VALUES ('test-a'), ('test-b'), ('keep')"]);
  const purge = await admin.send('POST', '/v1/shop/purge', { body: { prefix: 'test-' }, headers: reason });
  assert.equal(purge.status, 202, purge.text);
  const purged = await waitForJob(admin, purge.json.jobId, 30_000);
  assert.equal(purged.state, 'succeeded', JSON.stringify(purged));
  assert.ok((purged.result as { tail: string[] }).tail.includes('purged 2 item(s)'));
  assert.equal(spawnSync('sqlite3', [path.join(dir, 'var/app.db'), 'SELECT name FROM items'], { encoding: 'utf8' }).stdout.trim(), 'keep');

  // Down to a target, which stays applied (alembic downgrade 0003).
  const down = await admin.call('migrations.down', { to: '0003' }, { headers: reason });
  assert.equal(down.status, 202, down.text);
  const downJob = await waitForJob(admin, down.json.jobId, 60_000);
  assert.deepEqual((downJob.result as { reverted: string[] }).reverted, ['0005', '0004']);
  assert.doesNotMatch(tablesNow(), /t0004|t0005/);
  assert.match(tablesNow(), /orders/);
});
