/**
 * Two replicas on one real PostgreSQL (opsctl/server/postgres's
 * PostgresNotifyQueue and PostgresGrantStore), each with the same
 * notification endpoint, delivering to one real receiver that verifies
 * every delivery with the `standardwebhooks` library: every event is
 * delivered once for the fleet — the events one replica emits, and those
 * every replica sees (grant.expiring, grant.ended by expiry) — also while
 * the receiver fails for a while, and after one replica stops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PostgresGrantStore, PostgresNotifyQueue } from '../../src/server/postgres/index.js';
import { startHarness, tempDir, type Harness } from './fixtures/harness.js';
import { postgresMissing, startPostgres, type Postgres } from '../helpers/postgres.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';

const missing = postgresMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;
const keysDir = tempDir('opsctl-pg-notify-keys-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: Postgres;
let rx: Receiver;
let secretDir: string;
let secretFile: string;
let signingKeyFile: string;
before(async () => {
  if (skip) return;
  db = await startPostgres();
  const secret = newWebhookSecret();
  rx = await startReceiver({ secret });
  secretDir = tempDir('opsctl-pg-notify-');
  secretFile = path.join(secretDir, 'whsec');
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  // The replicas of a fleet share their configuration: the same v1a key too.
  signingKeyFile = path.join(secretDir, 'notify-signing-key.pem');
});
after(async () => {
  await rx?.close();
  await db?.stop();
  if (secretDir) fs.rmSync(secretDir, { recursive: true, force: true });
  fs.rmSync(keysDir, { recursive: true, force: true });
});

async function replica(database: string): Promise<Harness> {
  const connection = db.url(database);
  return startHarness({
    approvals: { endpoints: { 'flags.set': { count: 1, role: 'admin' } } },
    flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'beta' }] },
    grants: { store: new PostgresGrantStore({ connection, log: () => {} }) },
    notifications: {
      endpoints: [{ url: rx.url, name: 'rx' }],
      secretFile,
      signingKeyFile,
      store: new PostgresNotifyQueue({ connection, log: () => {} }),
      grantExpiringLeadSeconds: 1,
      pollSeconds: 0.2,
      retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.2, giveUpAfterSeconds: 60 },
    },
  }, { keysDir });
}

test('two replicas on one PostgreSQL deliver each event once for the fleet', { skip }, async () => {
  const database = db.createDatabase();
  const a = await replica(database);
  const b = await replica(database);
  try {
    rx.trust((await a.viewer.call('notify.status')).json.publicKey);
    assert.equal((await b.viewer.call('notify.status')).json.publicKey, (await a.viewer.call('notify.status')).json.publicKey, 'one key for the fleet');
    // Failing for a while: both replicas see the queue, one sends each event.
    rx.behave((_d, n) => ({ status: n <= 6 ? 500 : 204 }));
    const grantA = (await a.admin.call('grants.create', { publicKey: a.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 2, reason: 'short' })).json.grant;
    const grantB = (await b.admin.call('grants.create', { publicKey: b.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'long' })).json.grant;
    const heldA = (await a.operator.call('flags.set', { name: 'beta', value: true })).json.approval.id as string;
    const heldB = (await b.operator.call('flags.set', { name: 'beta', value: false })).json.approval.id as string;
    await b.operator.call('approvals.reject', { id: heldB });
    await rx.waitFor((e) => e.some((x) => x.type === 'grant.ended' && x.data.grantId === grantA.id) && e.some((x) => x.type === 'approval.decided' && x.data.approvalId === heldB), 20_000, 'the fleet\'s events');
    await sleep(800);
    const events = rx.events();
    const count = (pred: (e: (typeof events)[number]) => boolean) => new Set(events.filter(pred).map((e) => e.id)).size;
    assert.equal(count((e) => e.type === 'grant.created' && e.data.grantId === grantA.id), 1);
    assert.equal(count((e) => e.type === 'grant.created' && e.data.grantId === grantB.id), 1);
    assert.equal(count((e) => e.type === 'grant.expiring' && e.data.grantId === grantA.id), 1, 'both replicas see the grant end soon: one event');
    assert.equal(count((e) => e.type === 'grant.ended' && e.data.grantId === grantA.id), 1, 'the expiry is recorded (and announced) once');
    assert.equal(count((e) => e.type === 'approval.requested' && e.data.approvalId === heldA), 1);
    assert.equal(count((e) => e.type === 'approval.decided' && e.data.approvalId === heldB), 1);
    const ok = rx.deliveries.filter((d) => d.answered === 204);
    assert.equal(new Set(ok.map((d) => d.id)).size, ok.length, 'no event was accepted twice: each delivery went out from one replica');
    assert.deepEqual(rx.deliveries.filter((d) => d.rejected), [], 'every delivery verifies');
    assert.equal(db.psql("SELECT count(*) FROM opsctl_notify_deliveries WHERE state = 'pending'", database).trim().split('\n').find((l) => /^\s*\d+\s*$/.test(l))?.trim(), '0', 'nothing left queued');

    // One replica stops; what is queued while the receiver is down goes out from the other.
    await a.close();
    await rx.stop();
    const grantC = (await b.admin.call('grants.create', { publicKey: b.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 600, reason: 'after A stopped' })).json.grant;
    await sleep(300);
    await rx.start();
    await rx.waitFor((e) => e.some((x) => x.type === 'grant.created' && x.data.grantId === grantC.id), 20_000, 'the event queued while the receiver was down');
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
});
