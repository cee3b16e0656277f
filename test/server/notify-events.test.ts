/**
 * Every event kind a port emits (docs/notifications.md, "Events"), each
 * delivered to a real local receiver that verifies it with the
 * `standardwebhooks` library (HMAC v1) and checks the Ed25519 v1a
 * signature against the key the port publishes in health; what each
 * carries (service, instance, endpoint, principal, reason, approval id, the
 * command to run) and that no secret is in any of them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHarness, readAudit, type Harness } from './fixtures/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';
import type { TaskDefinition } from '../../src/server/index.js';

let h: Harness;
let rx: Receiver;
let secret: string;
let secretFile: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const purge: TaskDefinition = {
  name: 'purge',
  summary: 'Deletes old rows',
  role: 'operator',
  destructive: true,
  params: { type: 'object', properties: { token: { type: 'string', secret: true } }, additionalProperties: false },
  approval: { count: 1, role: 'admin', breakGlass: true },
  handler: async () => ({ purged: 3 }),
};

before(async () => {
  secret = newWebhookSecret();
  rx = await startReceiver({ secret });
  const dir = fs.mkdtempSync('/tmp/notify-secret-');
  secretFile = path.join(dir, 'whsec');
  fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  h = await startHarness({
    tasks: [purge],
    approvals: { expirySeconds: 60 },
    notifications: {
      endpoints: [{ url: rx.url, name: 'receiver' }],
      secretFile,
      command: 'opsctl --context prod-test',
      grantExpiringLeadSeconds: 2,
      retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.2, giveUpAfterSeconds: 30 },
    },
  });
  const health = (await h.viewer.call('health')).json;
  assert.match(health.notify.publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/, 'the v1a key is published in health');
  rx.trust(health.notify.publicKey);
});
after(async () => {
  await h?.close();
  await rx?.close();
  fs.rmSync(path.dirname(secretFile), { recursive: true, force: true });
});

const ofType = (type: string) => rx.events().filter((e) => e.type === type);

test('approval.requested, approval.approved (1 of 1), approval.decided ran with the job id, job.finished', async () => {
  const held = await h.operator.call('tasks.run', { name: 'purge', params: { token: 'hunter2-do-not-leak' } }, { headers: { 'opsctl-reason': 'ticket 7' } });
  assert.equal(held.status, 202, held.text);
  const id = held.json.approval.id as string;
  await rx.waitFor((e) => e.some((x) => x.type === 'approval.requested' && x.data.approvalId === id), 10_000, 'approval.requested');
  const req = ofType('approval.requested').find((e) => e.data.approvalId === id)!;
  assert.equal(req.data.service, 'test-service');
  assert.equal(req.data.instance, h.port.instanceId);
  assert.equal(req.data.endpoint, 'tasks.run');
  assert.equal(req.data.principal, 'oscar-operator');
  assert.equal(req.data.requester, 'oscar-operator');
  assert.equal(req.data.reason, 'ticket 7');
  assert.equal(req.data.required, 1);
  assert.equal(req.data.approvals, 0);
  assert.equal(req.data.command, `opsctl --context prod-test approvals show ${id}`);
  assert.equal(req.data.approveCommand, `opsctl --context prod-test approvals approve ${id}`);
  assert.equal(JSON.stringify(req.data.params).includes('hunter2'), false, 'secret params are redacted as in the audit log');
  assert.ok(Date.parse(req.timestamp) <= Date.now());

  const view = (await h.admin.call('approvals.get', { id })).json;
  const ok = await h.admin.call('approvals.approve', { id, digest: view.digest });
  assert.equal(ok.status, 200, ok.text);
  const jobId = ok.json.result.jobId as string;
  await rx.waitFor((e) => e.some((x) => x.type === 'job.finished' && x.data.jobId === jobId) && e.some((x) => x.type === 'approval.decided' && x.data.approvalId === id), 10_000, 'job.finished and approval.decided');
  const approved = ofType('approval.approved').find((e) => e.data.approvalId === id)!;
  assert.equal(approved.data.principal, 'alice-admin');
  assert.equal(approved.data.approver, 'alice-admin');
  assert.deepEqual([approved.data.approvals, approved.data.required], [1, 1], 'N of M');
  const decided = ofType('approval.decided').find((e) => e.data.approvalId === id)!;
  assert.equal(decided.data.outcome, 'ran');
  assert.equal(decided.data.jobId, jobId);
  const finished = ofType('job.finished').find((e) => e.data.jobId === jobId)!;
  assert.equal(finished.data.state, 'succeeded');
  assert.equal(finished.data.principal, 'oscar-operator', 'the job runs as its requester');
  assert.equal(finished.data.approvalId, id);
  assert.equal(finished.data.task, 'purge');
  assert.equal(typeof finished.data.durationMs, 'number');
  assert.equal(finished.data.command, `opsctl --context prod-test jobs status ${jobId}`);
});

test('approval.decided rejected and withdrawn; break_glass.used closes the same pending request as withdrawn (superseded)', async () => {
  const a = (await h.operator.call('tasks.run', { name: 'purge', params: {} })).json.approval.id as string;
  await h.admin.call('approvals.reject', { id: a, reason: 'not now' });
  const b = (await h.operator.call('tasks.run', { name: 'purge', params: {} })).json.approval.id as string;
  await h.operator.call('approvals.reject', { id: b });
  // The admin asks, then breaks glass for the same request while it waits.
  const c = (await h.admin.call('tasks.run', { name: 'purge', params: {} }, { headers: { 'opsctl-reason': 'cleanup' } })).json.approval.id as string;
  const bg = await h.admin.call('tasks.run', { name: 'purge', params: {} }, { headers: { 'opsctl-break-glass': 'incident 9', 'opsctl-reason': 'cleanup' } });
  assert.equal(bg.status, 202, bg.text);
  await rx.waitFor((e) => [a, b, c].every((id) => e.some((x) => x.type === 'approval.decided' && x.data.approvalId === id)) && e.some((x) => x.type === 'break_glass.used'), 10_000, 'three decisions and a break-glass');
  const decided = (id: string) => ofType('approval.decided').find((e) => e.data.approvalId === id)!.data;
  assert.equal(decided(a).outcome, 'rejected');
  assert.equal(decided(a).decidedBy, 'alice-admin');
  assert.equal(decided(a).decisionReason, 'not now');
  assert.equal(decided(b).outcome, 'withdrawn');
  assert.equal(decided(b).decidedBy, 'oscar-operator');
  assert.equal(decided(c).outcome, 'withdrawn');
  const glass = ofType('break_glass.used').at(-1)!.data;
  assert.equal(glass.principal, 'alice-admin');
  assert.equal(glass.breakGlassReason, 'incident 9');
  assert.equal(glass.endpoint, 'tasks.run');
  assert.equal(decided(c).supersededBy, glass.approvalId);
  assert.equal(glass.command, `opsctl --context prod-test approvals show ${glass.approvalId}`);
  const closed = (await h.admin.call('approvals.get', { id: c })).json;
  assert.equal(closed.state, 'superseded', 'no longer pending');
  assert.equal(closed.supersededBy.id, glass.approvalId);
  const rec = readAudit(h.auditFile).find((r) => r.outcome === 'superseded' && (r.approval as { id?: string } | undefined)?.id === c);
  assert.ok(rec, 'the closing is an audit record');
  assert.match(String(rec.reason), /break-glass/);
});

test('grant.created, grant.expiring (lead 2 s), grant.ended expired and revoked; access.requested', async () => {
  const g1 = (await h.admin.call('grants.create', { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 3, reason: 'on call' })).json.grant;
  const g2 = (await h.admin.call('grants.create', { publicKey: h.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'deploy' })).json.grant;
  await h.admin.call('grants.revoke', { id: g2.id });
  const access = await h.viewer.call('grants.request', { role: 'operator', ttlSeconds: 60, reason: 'need to flip a flag' });
  assert.equal(access.status, 202, access.text);
  await rx.waitFor((e) => e.some((x) => x.type === 'grant.ended' && x.data.grantId === g1.id) && e.some((x) => x.type === 'access.requested'), 15_000, 'the grant events');
  const created = ofType('grant.created').find((e) => e.data.grantId === g1.id)!.data;
  assert.equal(created.principal, 'alice-admin');
  assert.equal(created.grantee, 'mallory');
  assert.equal(created.role, 'viewer');
  assert.equal(created.reason, 'on call');
  assert.equal(created.command, 'opsctl --context prod-test grants list');
  const expiring = ofType('grant.expiring').filter((e) => e.data.grantId === g1.id);
  assert.equal(expiring.length, 1, 'once');
  assert.ok(expiring[0]!.data.secondsLeft <= 2);
  const ended = ofType('grant.ended').find((e) => e.data.grantId === g1.id)!.data;
  assert.equal(ended.outcome, 'expired');
  const revoked = ofType('grant.ended').find((e) => e.data.grantId === g2.id)!.data;
  assert.equal(revoked.outcome, 'revoked');
  assert.equal(revoked.revokedBy, 'alice-admin');
  assert.equal(ofType('grant.expiring').filter((e) => e.data.grantId === g2.id).length, 0, 'a revoked grant never expires');
  const asked = ofType('access.requested').at(-1)!.data;
  assert.equal(asked.principal, 'vera-viewer');
  assert.equal(asked.role, 'operator');
  assert.equal(asked.ttlSeconds, 60);
  assert.equal(asked.approvalId, access.json.approval.id);
  assert.equal(ofType('approval.requested').filter((e) => e.data.approvalId === access.json.approval.id).length, 0, 'announced once, as access.requested');
});

test('every delivery verified; the same webhook-id never twice; no secret anywhere in a payload, the audit log or health', async () => {
  await sleep(200);
  assert.deepEqual(rx.deliveries.filter((d) => d.rejected).map((d) => d.rejected), [], 'every delivery verifies (v1 with the library, v1a with the published key)');
  const ids = rx.deliveries.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length, 'each event delivered once (the receiver answered 204 every time)');
  for (const d of rx.deliveries) assert.match(d.signature, /^v1,[A-Za-z0-9+/=]+ v1a,[A-Za-z0-9+/=]+$/);
  const keyPem = fs.readFileSync(path.join(path.dirname(h.auditFile), 'notify-signing-key.pem'), 'utf8');
  const secrets = [secret, secret.slice(6), 't0p-s3cret-in-url', 'hunter2', keyPem.split('\n')[1]!];
  const health = (await h.viewer.call('health')).text;
  const status = (await h.viewer.call('notify.status')).text;
  const places = { payloads: rx.deliveries.map((d) => d.body).join('\n'), audit: fs.readFileSync(h.auditFile, 'utf8'), health, status, log: h.logs.join('\n') };
  for (const [where, text] of Object.entries(places)) {
    for (const s of secrets) assert.equal(text.includes(s), false, `${where} holds a secret (${s.slice(0, 8)}…)`);
  }
  const st = JSON.parse(status);
  assert.equal(st.endpoints[0].name, 'receiver');
  assert.equal(st.endpoints[0].hmac, true);
  assert.equal(st.endpoints[0].state, 'ok');
});

test('the receiver in docs/notifications.md, run as written, verifies every delivery (HMAC and Ed25519) and refuses a tampered one', async () => {
  const doc = fs.readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
  const block = /<!-- receiver-example[^>]*-->\s*```js\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'the docs have the receiver example');
  const file = path.join(path.dirname(secretFile), 'receiver.mjs');
  fs.writeFileSync(file, block);
  const { verifyDelivery } = (await import(file)) as { verifyDelivery: (h: Record<string, string>, body: string, o: { secret?: string; publicKey?: string }) => any };
  const publicKey = (await h.viewer.call('notify.status')).json.publicKey as string;
  assert.ok(rx.deliveries.length >= 10);
  for (const d of rx.deliveries) {
    const headers = { 'webhook-id': d.id, 'webhook-timestamp': d.timestamp, 'webhook-signature': d.signature };
    if (Math.abs(Date.now() / 1000 - Number(d.timestamp)) > 250) continue;
    assert.equal(verifyDelivery(headers, d.body, { secret })?.type, d.event?.type, 'HMAC');
    assert.equal(verifyDelivery(headers, d.body, { publicKey })?.type, d.event?.type, 'Ed25519 with the published key only');
    assert.equal(verifyDelivery(headers, d.body.replace('"data":{', '"data":{"x":1,'), { secret, publicKey }), null, 'tampered');
    assert.equal(verifyDelivery({ ...headers, 'webhook-timestamp': String(Number(d.timestamp) - 3600) }, d.body, { secret, publicKey }), null, 'stale');
  }
});
