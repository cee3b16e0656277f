/**
 * Event notifications end to end (docs/notifications.md): the demo service
 * started with `--notify URL --notify-secret-file FILE`, operated through
 * the real CLI over a real sshd by alice, bob (admins) and vera (viewer),
 * and a real receiver verifying every delivery with the `standardwebhooks`
 * library and the Ed25519 key the port publishes. Every event kind the CLI
 * can cause arrives with what it says; `opsctl notify test` too; an event
 * raised while the receiver is down and the service restarted arrives after
 * the restart, once; no secret is in any payload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { approvalsStack } from '../helpers/approvals-stack.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';
import type { DemoService } from '../helpers/demo-service.js';

const st = approvalsStack();
const { ops } = st;
let rx: Receiver;
let secret: string;
let dir: string;
let svc: DemoService | undefined;

before(async () => {
  if (st.skipped) return;
  secret = newWebhookSecret();
  rx = await startReceiver({ secret });
  dir = fs.mkdtempSync(path.join(ops.alice.dir, 'notify-'));
  fs.writeFileSync(path.join(dir, 'whsec'), secret, { mode: 0o600 });
});
after(async () => {
  await svc?.stop();
  await rx?.close();
});

const start = () => st.startService(['--notify', rx.url, '--notify-secret-file', path.join(dir, 'whsec')], path.join(dir, 'data'));
const of = (type: string) => rx.events().filter((e) => e.type === type);
const json = (r: { stdout: string }) => JSON.parse(r.stdout);

test('every event kind through the real CLI, verified by the receiver; a restart with an undelivered event', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  svc = await start();
  const cli = (who: typeof ops.alice, args: string[]) => st.cli(who, args, svc);
  const health = json(await cli(ops.vera, ['-o', 'json', 'health']));
  rx.trust(health.notify.publicKey);
  const command = (id: string) => `opsctl --context demo-orders approvals show ${id}`;

  // migrate up: a destructive job → job.finished.
  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes', '--reason', 'release 1'])).code, 0);
  await rx.waitFor((e) => e.some((x) => x.type === 'job.finished' && x.data.endpoint === 'migrations.up'), 30_000, 'job.finished of migrations.up');
  assert.equal(of('job.finished')[0]!.data.principal, 'alice');
  assert.equal(of('job.finished')[0]!.data.state, 'succeeded');

  // migrate down held, approved by bob: requested, approved (1 of 1), decided ran with the job id, job.finished.
  const held = await cli(ops.alice, ['-o', 'json', '--no-wait', 'migrate', 'down', '--to', '0', '--yes', '--reason', 'roll back']);
  assert.equal(held.code, 0, held.stderr);
  const id = json(held).approval.id as string;
  const approve = await cli(ops.bob, ['approvals', 'approve', id, '--yes', '--reason', 'plan checked']);
  assert.equal(approve.code, 0, approve.stderr);
  await rx.waitFor((e) => e.some((x) => x.type === 'job.finished' && x.data.approvalId === id), 30_000, 'the approved migration to finish');
  const requested = of('approval.requested').find((e) => e.data.approvalId === id)!.data;
  assert.equal(requested.principal, 'alice');
  assert.equal(requested.endpoint, 'migrations.down');
  assert.equal(requested.reason, 'roll back');
  assert.equal(requested.command, command(id));
  const approved = of('approval.approved').find((e) => e.data.approvalId === id)!.data;
  assert.equal(approved.approver, 'bob');
  assert.equal(`${approved.approvals} of ${approved.required}`, '1 of 1');
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.decided' && x.data.approvalId === id), 10_000, 'approval.decided');
  const decided = of('approval.decided').find((e) => e.data.approvalId === id)!.data;
  assert.equal(decided.outcome, 'ran');
  assert.equal(decided.jobId, of('job.finished').find((e) => e.data.approvalId === id)!.data.jobId);

  assert.equal((await cli(ops.alice, ['migrate', 'up', '--yes'])).code, 0, 'migrated again for the task below');

  // The purge task held, then run by alice by break-glass: break_glass.used, and the held one withdrawn.
  const purge = ['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=0', '--yes'];
  const asked = await cli(ops.alice, ['-o', 'json', '--no-wait', ...purge]);
  assert.equal(asked.code, 0, asked.stderr + asked.stdout);
  const purgeId = json(asked).approval.id as string;
  const glass = await cli(ops.alice, [...purge, '--follow', '--break-glass', 'incident 12: disk full']);
  assert.equal(glass.code, 0, glass.stderr);
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.decided' && x.data.approvalId === purgeId) && e.some((x) => x.type === 'break_glass.used'), 10_000, 'break-glass events');
  assert.equal(of('break_glass.used')[0]!.data.breakGlassReason, 'incident 12: disk full');
  assert.equal(of('approval.decided').find((e) => e.data.approvalId === purgeId)!.data.outcome, 'withdrawn');
  const list = json(await cli(ops.bob, ['-o', 'json', 'approvals', 'list'])).approvals as Array<{ id: string; state: string }>;
  assert.equal(list.find((a) => a.id === purgeId)!.state, 'superseded', 'not pending forever');

  // Grants: created, revoked (ended); an access request, rejected (decided).
  const add = await cli(ops.alice, ['-o', 'json', 'grants', 'add', ops.vera.key.publicPath, '--role', 'operator', '--for', '10m', '--reason', 'deploy help']);
  assert.equal(add.code, 0, add.stderr);
  const grantId = json(add).grant.id as string;
  assert.equal((await cli(ops.alice, ['grants', 'revoke', grantId, '--reason', 'done'])).code, 0);
  const access = await cli(ops.vera, ['-o', 'json', '--reason', 'need operator', 'grants', 'request', '--role', 'operator', '--for', '15m', '--no-wait']);
  assert.equal(access.code, 0, access.stderr);
  const accessId = json(access).approval.id as string;
  assert.equal((await cli(ops.bob, ['approvals', 'reject', accessId, '--yes', '--reason', 'not today'])).code, 0);
  await rx.waitFor((e) => e.some((x) => x.type === 'grant.ended' && x.data.grantId === grantId) && e.some((x) => x.type === 'approval.decided' && x.data.approvalId === accessId), 10_000, 'grant and access events');
  assert.equal(of('grant.created').find((e) => e.data.grantId === grantId)!.data.grantee, 'vera');
  assert.equal(of('grant.ended').find((e) => e.data.grantId === grantId)!.data.outcome, 'revoked');
  assert.equal(of('access.requested').find((e) => e.data.approvalId === accessId)!.data.role, 'operator');
  assert.equal(of('approval.decided').find((e) => e.data.approvalId === accessId)!.data.outcome, 'rejected');

  // opsctl notify test: each endpoint's status.
  const tested = await cli(ops.alice, ['-o', 'json', 'notify', 'test']);
  assert.equal(tested.code, 0, tested.stderr);
  assert.equal(json(tested).results[0].status, 204);
  await rx.waitFor((e) => e.some((x) => x.type === 'notify.test'), 10_000, 'the test event');

  // The receiver goes down, an event is raised, the service restarts: it arrives after, once.
  await rx.stop();
  const late = await cli(ops.alice, ['-o', 'json', 'grants', 'add', ops.vera.key.publicPath, '--role', 'viewer', '--for', '10m', '--reason', 'while down']);
  const lateId = json(late).grant.id as string;
  await svc.stop();
  svc = await start();
  await rx.start();
  await rx.waitFor((e) => e.some((x) => x.type === 'grant.created' && x.data.grantId === lateId), 30_000, 'the event raised before the restart');

  const byOccurrence = new Map<string, Set<string>>();
  for (const e of rx.events()) {
    const k = `${e.type}/${e.data.approvalId ?? e.data.grantId ?? e.data.jobId ?? e.id}/${e.data.approver ?? ''}`;
    byOccurrence.set(k, (byOccurrence.get(k) ?? new Set()).add(e.id));
  }
  for (const [k, ids] of byOccurrence) assert.equal(ids.size, 1, `${k}: one webhook-id`);
  assert.deepEqual(rx.deliveries.filter((d) => d.rejected).map((d) => d.rejected), [], 'every delivery verifies');
  const payloads = rx.deliveries.map((d) => d.body).join('\n');
  for (const s of [secret, secret.slice(6), 't0p-s3cret-in-url']) assert.equal(payloads.includes(s), false, 'no secret in a payload');
  assert.equal(fs.readFileSync(svc.auditLog, 'utf8').includes('t0p-s3cret-in-url'), false, 'nor in the audit log');
});
