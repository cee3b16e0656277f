/**
 * Forged signatures are cheap to refuse, and the replay cache scales with
 * the window: a real port, real floods over real connections
 * (src/server/README.md, "Performance of the internal port").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ReplayCache } from '../../src/server/auth/replay-cache.js';
import { VerifyAdmission, verifyLimitsProblem } from '../../src/server/auth/verify-admission.js';
import type { PreparedRequest, SignedClient, TestResponse } from '../helpers/signed-client.js';
import { startHarness, type Harness } from './fixtures/harness.js';

/** Sends a prepared request over `agent` (keep-alive: the same connection for all when maxSockets is 1). */
function sendOn(agent: http.Agent, port: number, r: PreparedRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.query ? `${r.path}?${r.query}` : r.path, headers: r.headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

async function metric(h: Harness, name: string): Promise<string[]> {
  const m = await h.admin.send('GET', '/v1/metrics');
  assert.equal(m.status, 200);
  return m.text.split('\n').filter((l) => l.startsWith(name));
}

const forged = (c: SignedClient) => c.prepare('GET', '/v1/health', { tamper: 'signature' });

let h: Harness;
before(async () => {
  h = await startHarness({
    verifyLimits: { perKeyid: { burst: 5, perSecond: 0.2 }, perPeer: { burst: 50, perSecond: 1 }, holdRefusalMs: 300 },
    clockSkewSeconds: 30,
    replayCache: { noncesPerSecond: 0.5 },
  });
});
after(async () => { await h.close(); });

test('a forged flood naming a real keyid: a few verifies, then 429 limit.auth unverified; another key is still served', async () => {
  const port = h.port.port!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const t0 = Date.now();
    const flood = await Promise.all(Array.from({ length: 200 }, async () => sendOn(agent, port, await forged(h.viewer))));
    const seconds = (Date.now() - t0) / 1000;
    const byCode = new Map<string, number>();
    for (const r of flood) byCode.set(`${r.status} ${r.json?.code}`, (byCode.get(`${r.status} ${r.json?.code}`) ?? 0) + 1);
    const verified = byCode.get('401 auth.bad_signature') ?? 0;
    const refused = byCode.get('429 limit.auth') ?? 0;
    assert.equal(verified + refused, 200, `only these two answers: ${JSON.stringify([...byCode])}`);
    // Burst 5, 0.2/s refill, and the one verify running when the bucket ran dry:
    // the verifies spent on forgeries are bounded, whatever the flood's size.
    const bound = 5 + Math.ceil(seconds * 0.2) + 1;
    assert.ok(verified <= bound, `${verified} forged signatures were verified in ${seconds} s`);
    assert.ok(refused >= 200 - bound);
    const throttled = flood.find((r) => r.status === 429)!;
    assert.match(String(throttled.headers['retry-after']), /^[1-9][0-9]*$/);
    assert.ok(throttled.headers['opsctl-instance'], 'a refusal carries the instance id like any answer');

    // While that keyid is throttled, a request signed by another key is verified and served.
    const other = await h.operator.call('health');
    assert.equal(other.status, 200);
    // ...and the throttled key's own correct request is refused unverified until its bucket refills (documented).
    const asked = Date.now();
    const same = await h.viewer.call('health');
    const held = Date.now() - asked;
    assert.equal(same.status, 429);
    assert.equal(same.json.code, 'limit.auth');
    // A refusal is held (holdRefusalMs) before it is answered: a flood that waits for its answers slows down.
    assert.ok(held >= 280, `the refusal was answered after ${held} ms`);
    // The flood itself: 8 connections, each held 300 ms per refusal, cannot have been answered faster.
    assert.ok(seconds >= ((refused / 8) * 0.3) * 0.9, `${refused} refusals on 8 connections in ${seconds} s`);

    const lines = await metric(h, 'opsctl_internal_verify_refused_total');
    const keyidCount = Number(lines.find((l) => l.includes('limit="keyid"'))?.split(' ').pop());
    assert.ok(keyidCount >= refused, `metric counts the refusals: ${lines.join(' | ')}`);
    const denied = await metric(h, 'opsctl_internal_denied_total{code="limit.auth"}');
    assert.ok(denied.length === 1 && Number(denied[0]!.split(' ').pop()) >= refused);
  } finally {
    agent.destroy();
  }
});

test('per connection: one connection that keeps failing is refused, a new connection is not', async () => {
  // Two keys alternate so no keyid bucket runs dry; the connection's bucket does.
  const a = new VerifyAdmission({ perKeyid: { burst: 100, perSecond: 1 }, perPeer: { burst: 3, perSecond: 0.001 } });
  const now = 1_000_000;
  for (let i = 0; i < 3; i++) {
    const key = i % 2 ? 'k1' : 'k2';
    assert.deepEqual(a.admit(key, '127.0.0.1:5000', now), { ok: true });
    a.failed(key, '127.0.0.1:5000', now);
  }
  const r = a.admit('k1', '127.0.0.1:5000', now);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.by, 'peer');
  assert.deepEqual(a.admit('k1', '127.0.0.1:5001', now), { ok: true }, 'another connection has its own bucket');
  // Only failures spend: any number of verifies that succeed, at once or not, never runs a bucket down.
  const b = new VerifyAdmission({ perKeyid: { burst: 1, perSecond: 0.001 }, perPeer: { burst: 1, perSecond: 0.001 } });
  for (let i = 0; i < 1000; i++) assert.deepEqual(b.admit('k', 'p', now), { ok: true });
});

test('replay cache: its cap is noncesPerSecond × 2 × the window, reported in metrics', async () => {
  assert.equal(ReplayCache.forWindow(60).capacity, 600_000);
  assert.equal(ReplayCache.forWindow(30, 100).capacity, 6_000);
  assert.equal(ReplayCache.forWindow(120, 100).capacity, 24_000, 'twice the window, twice the nonces');
  const cap = await metric(h, 'opsctl_internal_replay_cache_capacity ');
  assert.deepEqual(cap, ['opsctl_internal_replay_cache_capacity 30'], '0.5/s × 2 × 30 s');
  const entries = await metric(h, 'opsctl_internal_replay_cache_entries ');
  assert.equal(entries.length, 1);
});

test('a flood of valid requests fills the replay cache: 503 server.busy, never an evicted live nonce', async () => {
  // The harness's port: cap 30 nonces, each live for the 30 s window. Earlier tests used some.
  const first = await h.admin.prepare('GET', '/v1/health');
  const r0 = await h.admin.sendPrepared(first);
  assert.equal(r0.status, 200);
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await h.admin.call('health')).status);
  const busy = statuses.filter((s) => s === 503).length;
  assert.ok(busy > 0, `the cap was reached: ${statuses.join(',')}`);
  assert.ok(statuses.every((s) => s === 200 || s === 503), statuses.join(','));
  assert.ok(statuses.filter((s) => s === 200).length < 30);
  // The first request's nonce is still live (within 30 s) and still remembered: its replay is refused.
  const replay = await h.admin.sendPrepared(first);
  assert.equal(replay.status, 401, replay.text);
  assert.equal(replay.json.code, 'auth.replay');
});

test('verifyOnThreadPool: the verify on libuv\'s pool answers exactly as on the event loop; a bad value is refused at start', async () => {
  await assert.rejects(h.restart({ verifyOnThreadPool: 1.5 }), /verifyOnThreadPool must be a whole number/);
  await h.restart({ verifyOnThreadPool: 2, verifyLimits: { perKeyid: { burst: 3, perSecond: 0.2 }, perPeer: { burst: 50, perSecond: 1 } } });
  const ok = await h.viewer.call('health');
  assert.equal(ok.status, 200, ok.text);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const flood = await Promise.all(Array.from({ length: 30 }, async () => sendOn(agent, h.port.port!, await forged(h.operator))));
    const codes = flood.map((r) => `${r.status} ${r.json?.code}`);
    assert.ok(codes.every((c) => c === '401 auth.bad_signature' || c === '429 limit.auth'), codes.join(','));
    // Burst 3, plus the verifies in flight (2) when the bucket ran dry, plus the refill.
    assert.ok(codes.filter((c) => c.startsWith('401')).length <= 3 + 2 + 2, codes.join(','));
  } finally {
    agent.destroy();
  }
  const again = await h.viewer.call('health');
  assert.equal(again.status, 200, 'another key\'s correct request is still served: ' + again.text);
});

test('verifyLimits.holdRefusalMs: an integer from 0 to 10000 ms, default 1000', () => {
  assert.equal(new VerifyAdmission().holdRefusalMs, 1000);
  assert.equal(new VerifyAdmission({ holdRefusalMs: 0 }).holdRefusalMs, 0);
  assert.equal(verifyLimitsProblem({ holdRefusalMs: 0 }), undefined);
  for (const bad of [-1, 1.5, 10_001, '1000']) assert.match(String(verifyLimitsProblem({ holdRefusalMs: bad })), /holdRefusalMs must be an integer from 0 to 10000/);
});
