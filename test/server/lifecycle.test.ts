import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayCache } from '../../src/server/auth/replay-cache.js';
import { waitForJob } from '../helpers/signed-client.js';
import { readAudit, startHarness } from './fixtures/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('replay cache: remembers a nonce for the window, forgets it after, refuses rather than evicts when full', () => {
  const c = new ReplayCache(60, 3);
  const now = 1_000_000;
  assert.equal(c.check('k', 'n1', now, now), 'fresh');
  assert.equal(c.check('k', 'n1', now, now + 59), 'replay');
  assert.equal(c.check('other-key', 'n1', now, now), 'fresh', 'nonces are per key');
  assert.equal(c.check('k', 'n2', now, now), 'fresh');
  assert.equal(c.check('k', 'n3', now, now), 'full', 'live nonces are never evicted');
  assert.equal(c.check('k', 'n1', now, now), 'replay', 'still remembered');
  assert.equal(c.check('k', 'n3', now + 120, now + 120), 'fresh', 'expired entries make room');
  assert.equal(c.size, 1);
});

test('replay cache: a nonce that expires behind a later one still makes room when full; the live one stays', () => {
  const c = new ReplayCache(60, 2);
  const now = 1_000_000;
  assert.equal(c.check('k', 'future', now + 50, now), 'fresh', 'signed 50 s ahead: remembered until now + 110');
  assert.equal(c.check('k', 'old', now - 50, now), 'fresh', 'signed 50 s ago: remembered until now + 10');
  assert.equal(c.check('k', 'x', now + 20, now + 20), 'fresh', 'the old one expired behind the future one: room is made');
  assert.equal(c.check('k', 'future', now + 50, now + 20), 'replay', 'the live one is still remembered');
  assert.equal(c.check('k', 'y', now + 20, now + 20), 'full', 'full of live nonces: refused, nothing evicted');
  assert.equal(c.check('k', 'x', now + 20, now + 20), 'replay', 'and x is still remembered');
});

test('requireReasonForDestructive: a destructive call without Opsctl-Reason is 400 and does not run', async () => {
  let ran = 0;
  const h = await startHarness({
    requireReasonForDestructive: true,
    tasks: [{ name: 'wipe', summary: 'Wipes', role: 'admin', destructive: true, params: { type: 'object' }, handler: async () => { ran++; } }],
  });
  try {
    const r = await h.admin.call('tasks.run', { name: 'wipe' });
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'reason');
    assert.equal(ran, 0);
    const ok = await h.admin.call('tasks.run', { name: 'wipe' }, { headers: { 'opsctl-reason': 'ticket 9' } });
    assert.equal(ok.status, 202);
    await waitForJob(h.admin, ok.json.jobId);
    assert.equal(ran, 1);
  } finally {
    await h.close();
  }
});

test('close(): signals running jobs, waits for them, records their end, then stops listening', async () => {
  let stubbornDone = false;
  const h = await startHarness({
    shutdownGraceMs: 5000,
    tasks: [
      {
        name: 'cooperative', summary: 'Stops when asked', role: 'operator', destructive: false, params: { type: 'object' },
        handler: (_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
      },
      {
        // Like a migration in progress: ignores the signal and finishes its step.
        name: 'stubborn', summary: 'Finishes its step', role: 'operator', destructive: false, params: { type: 'object' },
        handler: async () => { await sleep(300); stubbornDone = true; return 'done'; },
      },
    ],
  });
  const a = await h.operator.call('tasks.run', { name: 'cooperative' });
  const b = await h.operator.call('tasks.run', { name: 'stubborn' });
  const events = h.viewer.stream(`/v1/jobs/${a.json.jobId}/events`);
  await sleep(50);
  await h.port.close();
  assert.equal(stubbornDone, true, 'close waited for the job that ignores the signal');
  const streamed = await events;
  assert.equal(streamed.lines.at(-1)!.type, 'end', 'an attached stream gets its end line');
  const audit = readAudit(h.auditFile);
  assert.ok(audit.some((r) => r.jobId === a.json.jobId && r.outcome === 'error' && r.code === 'cancelled'));
  assert.ok(audit.some((r) => r.jobId === b.json.jobId && r.outcome === 'ok'));
  await assert.rejects(h.viewer.call('health'), /ECONNREFUSED/);
  await h.close();
});
