/**
 * The requester's and the approver's side of approvals, and `opsctl notify`,
 * through the real CLI against a real port (test/helpers/cli-harness.ts):
 * waiting for a decision is one long-poll (one audit record per change, not
 * one per second); `approvals watch` shows approvals as they arrive (NDJSON
 * and a final count under -o json, a live table on a terminal, every
 * context with --all-contexts); `notify test` sends a signed test event to
 * each endpoint and reports each status; `notify status` shows the key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCliHarness, cleanupKeys, type CliHarness } from '../helpers/cli-harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';

let h: CliHarness;
let rx: Receiver;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  const secret = newWebhookSecret();
  rx = await startReceiver({ secret });
  const dir = fs.mkdtempSync('/tmp/notify-cli-');
  fs.writeFileSync(path.join(dir, 'whsec'), secret, { mode: 0o600 });
  h = await startCliHarness({
    portOptions: {
      approvals: { endpoints: { 'flags.set': { count: 1, role: 'admin' } } },
      notifications: {
        endpoints: [
          { url: rx.url, name: 'receiver' },
          // Nothing listens there: notify test reports it failing.
          { url: 'http://127.0.0.1:9/gone', name: 'nowhere', events: ['grant.ended'] },
        ],
        secretFile: path.join(dir, 'whsec'),
        timeoutSeconds: 2,
      },
    },
  });
});
after(async () => {
  await h?.close();
  await rx?.close();
  cleanupKeys();
});

const pendingIds = async (): Promise<string[]> => (await h.run(['-o', 'json', 'approvals', 'list', '--state', 'pending'], { as: 'viewer' })).json().approvals.map((a: { id: string }) => a.id);

test('waiting for an approval is one long-poll: one approvals.get record for a 3 s wait, not one per second', async () => {
  const before = new Set(await pendingIds());
  const waiting = h.run(['flags', 'set', 'greeting', 'hola'], { as: 'operator' });
  let id: string | undefined;
  for (let i = 0; i < 100 && !id; i++) {
    await sleep(50);
    id = (await pendingIds()).find((x) => !before.has(x));
  }
  assert.ok(id, 'the request is held');
  await sleep(3000);
  const approve = await h.run(['approvals', 'approve', id!, '--yes'], { as: 'admin' });
  assert.equal(approve.code, 0, approve.stderr);
  const r = await waiting;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /approved by alice/);
  const gets = (await h.auditSettled()).filter((x) => x.endpoint === 'approvals.get' && x.principal === 'oscar');
  assert.equal(gets.length, 1, `one read for the whole wait (got ${gets.length})`);
  assert.ok(gets[0]!.durationMs >= 2900, `the read lasted the wait (${gets[0]!.durationMs} ms)`);
  assert.equal(gets[0]!.params.wait, 300, 'the record says it was a long-poll');
});

test('approvals watch -o json: a line per arrival and per decision, then the count still pending', async () => {
  const watch = h.run(['-o', 'json', 'approvals', 'watch', '--for', '4s'], { as: 'viewer' });
  await sleep(800);
  const a = (await h.run(['-o', 'json', '--no-wait', 'flags', 'set', 'greeting', 'a'], { as: 'operator' })).json().approval.id as string;
  const b = (await h.run(['-o', 'json', '--no-wait', 'flags', 'set', 'greeting', 'b'], { as: 'operator' })).json().approval.id as string;
  assert.equal((await h.run(['approvals', 'reject', a, '--yes'], { as: 'admin' })).code, 0);
  const r = await watch;
  assert.equal(r.code, 0, `--for ran out: a normal end (${r.stderr})`);
  const lines = r.ndjson();
  const of = (type: string, id: string) => lines.filter((l) => l.type === type && l.approval?.id === id);
  assert.equal(of('pending', a).length, 1);
  assert.equal(of('pending', b).length, 1);
  assert.equal(of('decided', a).length, 1);
  assert.equal(of('decided', a)[0].approval.state, 'rejected');
  assert.equal(of('decided', b).length, 0);
  const last = lines.at(-1);
  assert.equal(last.type, 'summary');
  assert.equal(last.pending, (await pendingIds()).length, 'the last line is the count still pending');
  assert.deepEqual(Object.keys(last.contexts), ['test']);
  assert.equal(await h.run(['approvals', 'reject', b, '--yes'], { as: 'admin' }).then((x) => x.code), 0);
});

test('approvals watch on a terminal: a live table with the command to run; --all-contexts watches each context', async () => {
  const watch = h.run(['approvals', 'watch', '--all-contexts', '--for', '3s'], { as: 'viewer', tty: true });
  await sleep(800);
  const id = (await h.run(['-o', 'json', '--no-wait', 'flags', 'set', 'greeting', 'c'], { as: 'operator' })).json().approval.id as string;
  const r = await watch;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 contexts/, 'every context of the config');
  assert.match(r.stdout, new RegExp(`${id}`), 'the new approval is in the table');
  assert.match(r.stdout, /\x07/, 'the bell rang when it arrived');
  assert.match(r.stdout, new RegExp(`approvals approve ${id}`), 'with the command an approver runs');
  await h.run(['approvals', 'reject', id, '--yes'], { as: 'operator' });
});

test('notify test reports each endpoint; the receiver verifies the signed test event; notify status shows the public key', async () => {
  const r = await h.run(['-o', 'json', 'notify', 'test'], { as: 'admin' });
  assert.equal(r.code, 1, 'one endpoint failed');
  const results = r.json().results as Array<{ endpoint: string; ok: boolean; status: number | null; webhookId: string }>;
  const ok = results.find((x) => x.endpoint === 'receiver')!;
  assert.equal(ok.ok, true);
  assert.equal(ok.status, 204);
  assert.equal(results.find((x) => x.endpoint === 'nowhere')!.ok, false);
  const status = await h.run(['-o', 'json', 'notify', 'status'], { as: 'viewer' });
  const key = status.json().publicKey as string;
  assert.match(key, /^whpk_/);
  rx.trust(key);
  const d = rx.deliveries.find((x) => x.id === ok.webhookId)!;
  assert.ok(d, 'the receiver got it');
  const { verifyDelivery } = await import('../helpers/webhook-receiver.js');
  assert.equal(verifyDelivery(undefined, key, { 'webhook-id': d.id, 'webhook-timestamp': d.timestamp, 'webhook-signature': d.signature }, d.body).type, 'notify.test', 'v1a verifies with the published key');
  assert.equal(d.rejected, undefined, 'v1 verifies with standardwebhooks');
  const one = await h.run(['notify', 'test', '--endpoint', 'receiver'], { as: 'admin' });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /receiver/);
  const denied = await h.run(['notify', 'test'], { as: 'operator' });
  assert.equal(denied.code, 3, 'admins only');
  const human = await h.run(['notify', 'status'], { as: 'viewer' });
  assert.match(human.stdout, /whpk_/);
  assert.match(human.stdout, /receiver/);
});
