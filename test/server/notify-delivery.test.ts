/**
 * Delivery of event notifications to a real local receiver that verifies
 * every delivery with the `standardwebhooks` library (docs/notifications.md,
 * "Delivery"): a receiver down for a while, answering 500 then 200, slow,
 * hanging (requests stay fast), answering 410 (it stops); a port restarted
 * with undelivered events (every event arrives, none under two ids); a
 * tampered or replayed delivery rejected by the library; give-up, health
 * and the audit records of it all. Backoff timings are small here (the
 * options take any; production minimums are documented).
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { startHarness, readAudit, type Harness } from './fixtures/harness.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';
import type { NotificationsOptions } from '../../src/server/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  h: Harness;
  rx: Receiver;
  secret: string;
  /** Creates a grant (one grant.created event); resolves with its id. */
  event(): Promise<string>;
  health(): Promise<any>;
  notifyRecords(): Array<Record<string, any>>;
  close(): Promise<void>;
}

async function setup(more: Partial<NotificationsOptions> = {}, rxOpts: { down?: boolean } = {}): Promise<Setup> {
  const secret = newWebhookSecret();
  const rx = await startReceiver({ secret });
  if (rxOpts.down) await rx.stop();
  const dir = fs.mkdtempSync('/tmp/notify-d-');
  const secretFile = path.join(dir, 'whsec');
  fs.writeFileSync(secretFile, secret, { mode: 0o600 });
  const h = await startHarness({
    notifications: {
      endpoints: [{ url: rx.url, name: 'rx', events: ['grant.created'] }],
      secretFile,
      retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.3, giveUpAfterSeconds: 60 },
      timeoutSeconds: 2,
      ...more,
    },
  });
  rx.trust((await h.viewer.call('notify.status')).json.publicKey);
  return {
    h,
    rx,
    secret,
    async event() {
      const r = await h.admin.call('grants.create', { publicKey: h.keys.stranger.publicLine, role: 'viewer', ttlSeconds: 600, reason: 'test event' });
      assert.equal(r.status, 201, r.text);
      return r.json.grant.id as string;
    },
    health: async () => (await h.viewer.call('health')).json,
    notifyRecords: () => readAudit(h.auditFile).filter((r) => r.type === 'notify'),
    async close() {
      await h.close();
      await rx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const grantIds = (rx: Receiver) => rx.events().map((e) => e.data.grantId as string);

test('a receiver down for a while: every event arrives once it is back, with the webhook-id it first had', async () => {
  const s = await setup({}, { down: true });
  try {
    const ids = [await s.event(), await s.event(), await s.event()];
    await sleep(400);
    assert.equal(s.rx.deliveries.length, 0, 'nothing arrives while it is down');
    await s.rx.start();
    await s.rx.waitFor(() => ids.every((id) => grantIds(s.rx).includes(id)), 15_000, 'the three events');
    assert.deepEqual(s.rx.deliveries.filter((d) => d.rejected), [], 'every delivery verifies');
    let metrics = '';
    for (let i = 0; i < 100 && !/opsctl_notify_delivered_total\{endpoint="rx"\} 3/.test(metrics); i++) {
      await sleep(20); // the counter moves once the queue has recorded the success
      metrics = (await s.h.viewer.call('metrics.get', {}, { accept: 'text/plain' })).text;
    }
    assert.match(metrics, /opsctl_notify_failed_total\{endpoint="rx"\} [1-9]/, 'the failed attempts are counted');
    assert.match(metrics, /opsctl_notify_delivered_total\{endpoint="rx"\} 3/);
  } finally {
    await s.close();
  }
});

test('500 then 200: retried with the same webhook-id; failures past the threshold make health degraded, audited, then recovered', async () => {
  const s = await setup({ failureThreshold: 3 });
  try {
    s.rx.behave((_d, n) => ({ status: n <= 4 ? 500 : 200 }));
    const id = await s.event();
    await s.rx.waitFor(() => grantIds(s.rx).includes(id) && s.rx.deliveries.some((d) => d.answered === 200), 15_000, 'the retried event');
    const ids = new Set(s.rx.deliveries.map((d) => d.id));
    assert.equal(ids.size, 1, 'every attempt carries the same webhook-id');
    assert.equal(s.rx.deliveries.length, 5, 'four failures, then the success');
    const ts = s.rx.deliveries.map((d) => Number(d.timestamp));
    assert.ok(ts.every((t) => Math.abs(t - Date.now() / 1000) < 60), 'each attempt is signed at its own time');
    await sleep(100);
    const recs = s.notifyRecords();
    assert.deepEqual(recs.map((r) => r.event), ['failing', 'recovered'], 'the chain says when it broke and when it came back');
    assert.equal(recs[0]!.endpoint, 'rx');
    assert.equal(recs[0]!.status, 500);
    assert.equal((await s.health()).checks['notify rx'].ok, true, 'healthy again');
  } finally {
    await s.close();
  }
});

test('failing: health is degraded while attempts keep failing; a delivery past the horizon is given up (audited, counted)', async () => {
  const s = await setup({ failureThreshold: 2, retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.1, giveUpAfterSeconds: 1 } });
  try {
    s.rx.behave(() => ({ status: 503 }));
    await s.event();
    const deadline = Date.now() + 10_000;
    while (!s.notifyRecords().some((r) => r.event === 'gave-up')) {
      assert.ok(Date.now() < deadline, 'gave up within the horizon');
      await sleep(50);
    }
    const h = await s.health();
    assert.equal(h.status, 'degraded');
    assert.equal(h.checks['notify rx'].ok, false);
    assert.match(h.checks['notify rx'].detail, /given up/);
    const n = s.rx.deliveries.length;
    await sleep(400);
    assert.equal(s.rx.deliveries.length, n, 'no attempt after giving up');
    const metrics = (await s.h.viewer.call('metrics.get', {}, { accept: 'text/plain' })).text;
    assert.match(metrics, /opsctl_notify_dropped_total\{endpoint="rx"\} 1/);
  } finally {
    await s.close();
  }
});

test('410 Gone stops deliveries to that endpoint (audited, health says disabled)', async () => {
  const s = await setup();
  try {
    s.rx.behave(() => ({ status: 410 }));
    await s.event();
    await s.rx.waitFor(() => s.rx.deliveries.length === 1, 10_000, 'one attempt');
    await s.event();
    await sleep(500);
    assert.equal(s.rx.deliveries.length, 1, 'nothing more is sent after the 410');
    assert.deepEqual(s.notifyRecords().map((r) => r.event), ['disabled']);
    const h = await s.health();
    assert.match(h.checks['notify rx'].detail, /410/);
    assert.equal((await s.h.viewer.call('notify.status')).json.endpoints[0].state, 'disabled');
  } finally {
    await s.close();
  }
});

test('3xx is a failure, not followed; a slow receiver gets every event while requests stay fast', async () => {
  const s = await setup();
  try {
    s.rx.behave((_d, n) => (n === 1 ? { status: 302 } : { status: 200, delayMs: 800 }));
    const ids = [await s.event(), await s.event(), await s.event(), await s.event()];
    await s.rx.waitFor(() => ids.every((id) => grantIds(s.rx).filter((x) => x === id).length >= 1) && s.rx.deliveries.filter((d) => d.answered === 200).length >= 4, 15_000, 'every event, slowly');
    assert.equal(s.rx.deliveries[0]!.answered, 302);
    assert.equal(s.rx.deliveries[1]!.id !== undefined, true);
  } finally {
    await s.close();
  }
});

test('a hanging receiver never delays a request (bounded, under 100 ms above normal)', async () => {
  const s = await setup({ timeoutSeconds: 30 });
  try {
    const time = async (n: number) => {
      const t: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await s.event();
        t.push(performance.now() - t0);
      }
      t.sort((a, b) => a - b);
      return t[Math.floor(t.length / 2)]!;
    };
    await time(3); // warm up
    const normal = await time(9);
    s.rx.behave(() => 'hang');
    await s.event();
    await s.rx.waitFor(() => s.rx.deliveries.length >= 2, 10_000, 'the receiver to be hanging on deliveries');
    const hanging = await time(9);
    assert.ok(hanging < normal + 100, `median ${hanging.toFixed(1)} ms while the receiver hangs vs ${normal.toFixed(1)} ms normally`);
  } finally {
    await s.close();
  }
});

test('a restart with undelivered events: every event arrives after it, none twice under distinct ids', async () => {
  const s = await setup({}, { down: true });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await s.event());
    await sleep(300);
    await s.h.restart();
    ids.push(await s.event());
    await s.rx.start();
    await s.rx.waitFor(() => ids.every((id) => grantIds(s.rx).includes(id)), 15_000, 'every event after the restart');
    await sleep(300);
    const byGrant = new Map<string, Set<string>>();
    for (const e of s.rx.events()) byGrant.set(e.data.grantId, (byGrant.get(e.data.grantId) ?? new Set()).add(e.id));
    assert.equal(byGrant.size, 6);
    for (const [g, msgIds] of byGrant) assert.equal(msgIds.size, 1, `grant ${g}: one webhook-id`);
    assert.deepEqual(s.rx.deliveries.filter((d) => d.rejected), []);
  } finally {
    await s.close();
  }
});

test('a tampered body, a replay outside the window, a replay re-stamped: the standardwebhooks library rejects each', async () => {
  const s = await setup();
  try {
    await s.event();
    await s.rx.waitFor((e) => e.length === 1, 10_000, 'one delivery');
    const d = s.rx.deliveries[0]!;
    const headers = { 'webhook-id': d.id, 'webhook-timestamp': d.timestamp, 'webhook-signature': d.signature };
    const wh = new Webhook(s.secret);
    assert.equal((wh.verify(d.body, headers) as { type: string }).type, 'grant.created', 'the original verifies');
    assert.throws(() => wh.verify(d.body.replace('"viewer"', '"admin"'), headers), /No matching signature/, 'tampered');
    assert.throws(() => wh.verify(d.body, { ...headers, 'webhook-timestamp': String(Number(d.timestamp) + 1) }), /No matching signature/, 'replayed with a new timestamp');
    assert.throws(() => wh.verify(d.body, { ...headers, 'webhook-id': 'msg_other' }), /No matching signature/, 'another id');
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 6 * 60_000 });
    try {
      assert.throws(() => wh.verify(d.body, headers), /too old/, 'the same bytes six minutes later');
    } finally {
      mock.timers.reset();
    }
  } finally {
    await s.close();
  }
});
