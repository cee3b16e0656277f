// A service that answers too much or too slowly: a real listening HTTP server
// behind a real sshd, reached through the real transport (openTunnel) and
// through the built CLI. Every case fails fast with a clear message and a
// documented exit code, and memory stays bounded.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { ConnectionError } from '../../src/cli/transport/connection-error.js';
import { ResponseTooLargeError } from '../../src/cli/transport/response-too-large-error.js';
import type { Tunnel, TunnelTarget } from '../../src/cli/transport/types.js';
import { requireSshd, sshdMissing, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { ensureBuilt, privateHome, runCli } from '../helpers/stack.js';
import { fileIdentity, hop, tempDir } from './fixtures/route.js';

const tmp = tempDir('opsctl-conn-hostile-');
let identity: Awaited<ReturnType<typeof fileIdentity>>['identity'];
let keyPath: string;
let svc: Sshd;
let hostile: http.Server;
let hostilePort: number;
let kh: string;
const open = new Set<net.Socket>();

const CHUNK = Buffer.alloc(64 * 1024, 'x');

/** Every way of answering badly, chosen by path. */
function hostileHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '';
  if (url.startsWith('/v1/endless') || url.startsWith('/v1/health')) {
    // A body that never ends, as fast as the channel takes it.
    res.writeHead(200, { 'content-type': 'application/json' });
    const pump = () => {
      while (!res.destroyed && res.write(CHUNK)) {
        /* keep writing */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    return;
  }
  if (url.startsWith('/v1/declared')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(100 * 1024 ** 3) });
    res.write('{');
    return;
  }
  if (url.startsWith('/v1/drip')) {
    // One byte every 200 ms: never silent for long, never done.
    res.writeHead(200, { 'content-type': 'application/json' });
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 200);
    return;
  }
  if (url.startsWith('/v1/jobs/silent/events')) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(JSON.stringify({ type: 'state', state: 'running' }) + '\n');
    return; // then nothing, ever
  }
  if (url.startsWith('/v1/jobs/longline/events')) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"log","message":"');
    const pump = () => {
      while (!res.destroyed && res.write(CHUNK)) {
        /* one line that never ends */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    return;
  }
  if (url.startsWith('/v1/jobs/beating/events')) {
    // Quiet for longer than the timeout, but alive: empty heartbeat lines.
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let n = 0;
    const t = setInterval(() => {
      if (res.destroyed) return clearInterval(t);
      if (++n < 8) return void res.write('\n');
      clearInterval(t);
      res.end(JSON.stringify({ type: 'end', state: 'succeeded', result: 'ok' }) + '\n');
    }, 300);
    return;
  }
  // /v1/never and anything else: accept, read, never answer.
}

before(async () => {
  if (sshdMissing()) return;
  const id = await fileIdentity(tmp);
  identity = id.identity;
  keyPath = id.path;
  svc = await startSshd({ authorizedKeys: [id.key.publicKeyLine] });
  kh = tmp.file('known_hosts', svc.knownHostsLine + '\n');
  hostile = http.createServer(hostileHandler);
  hostile.on('connection', (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
  hostilePort = (hostile.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of open) s.destroy();
  await new Promise((r) => (hostile ? hostile.close(r) : r(undefined)));
  await svc?.stop();
  tmp.remove();
});

function target(over: Partial<TunnelTarget> = {}): TunnelTarget {
  return { bastions: [], host: hop('svc', svc), internalPort: hostilePort, knownHostsFiles: [kh], timeoutMs: 2000, ...over };
}

async function withTunnel<T>(t: Partial<TunnelTarget>, fn: (tunnel: Tunnel) => Promise<T>): Promise<T> {
  const tunnel = await openTunnel(target(t), identity);
  try {
    return await fn(tunnel);
  } finally {
    await tunnel.close();
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected a failure');
}

test('transport: a never-ending body stops at the size limit, quickly and with bounded memory', async (t) => {
  if (requireSshd(t)) return;
  await withTunnel({ maxResponseBytes: 4 * 1024 * 1024, timeoutMs: 30_000 }, async (tunnel) => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const err = await rejection(tunnel.request({ method: 'GET', path: '/v1/endless', headers: {} }));
    assert.ok(err instanceof ResponseTooLargeError, String(err));
    assert.match(err.message, /larger than 4 MiB/);
    assert.match(err.message, /--max-response-size/);
    assert.ok(Date.now() - started < 10_000, 'stopped long before the timeout');
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${grown} bytes`);
    // The connection is still good for the next request.
    const again = await rejection(tunnel.request({ method: 'GET', path: '/v1/declared', headers: {} }));
    assert.ok(again instanceof ResponseTooLargeError);
    assert.match(again.message, /107374182400-byte answer/);
  });
});

test('transport: a service that never answers, or answers forever byte by byte, is bounded by the timeout', async (t) => {
  if (requireSshd(t)) return;
  await withTunnel({ timeoutMs: 1500 }, async (tunnel) => {
    for (const p of ['/v1/never', '/v1/drip']) {
      const started = Date.now();
      const err = await rejection(tunnel.request({ method: 'GET', path: p, headers: {} }));
      const took = Date.now() - started;
      assert.ok(err instanceof ConnectionError, `${p}: ${String(err)}`);
      assert.equal(err.reason, 'timeout');
      assert.equal(err.kind, 'internal-port');
      assert.match(err.message, /did not answer within 1\.5 s \(--timeout\)/);
      assert.ok(took >= 1400 && took < 4000, `${p} took ${took} ms`);
    }
  });
});

test('transport: a stream may not fall silent longer than the timeout, nor send an endless line; heartbeats keep it alive', async (t) => {
  if (requireSshd(t)) return;
  await withTunnel({ timeoutMs: 1000, maxResponseBytes: 1024 * 1024 }, async (tunnel) => {
    const silent = await tunnel.stream({ method: 'GET', path: '/v1/jobs/silent/events', headers: {} });
    let got = '';
    const started = Date.now();
    const err = await rejection(
      (async () => {
        for await (const c of silent) got += c;
      })(),
    );
    assert.ok(err instanceof ConnectionError, String(err));
    assert.match(err.message, /went silent: nothing arrived within 1 s/);
    assert.match(got, /"running"/, 'what arrived before the silence was delivered');
    assert.ok(Date.now() - started < 3000);

    const long = await tunnel.stream({ method: 'GET', path: '/v1/jobs/longline/events', headers: {} });
    const err2 = await rejection(
      (async () => {
        for await (const _ of long) void _;
      })(),
    );
    assert.ok(err2 instanceof ResponseTooLargeError, String(err2));
    assert.match(err2.message, /a line larger than 1 MiB/);

    // 8 × 300 ms of empty lines: quiet longer than the 1 s timeout as a
    // whole, but never silent for 1 s.
    const beating = await tunnel.stream({ method: 'GET', path: '/v1/jobs/beating/events', headers: {} });
    let text = '';
    for await (const c of beating) text += c;
    assert.match(text, /"end"/);
  });
});

test('CLI: health against hostile services exits fast with the documented codes', async (t) => {
  if (requireSshd(t)) return;
  ensureBuilt();
  const home = privateHome('opsctl-conn-hostile-cli-');
  try {
    const conn = ['--host', `${TEST_USER}@127.0.0.1:${svc.port}`, '--port', String(hostilePort), '--identity', keyPath, '--known-hosts', kh];
    // health on this server is a never-ending body: exit 1 at 16 MiB.
    let started = Date.now();
    let r = await runCli([...conn, '--timeout', '5', 'health'], home.env, { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /larger than 16 MiB; the response was dropped \(raise the limit with --max-response-size\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one message: ${r.stderr}`);
    assert.ok(Date.now() - started < 15_000);

    // A raised limit is honoured (and still bounded).
    r = await runCli([...conn, '--max-response-size', '32MiB', 'health'], home.env, { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /larger than 32 MiB/);

    r = await runCli([...conn, '--max-response-size', 'lots', 'health'], home.env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-response-size must be a size/);

    // A job stream that falls silent: exit 5 after --timeout, with the re-attach hint.
    started = Date.now();
    r = await runCli([...conn, '--timeout', '2', 'jobs', 'logs', 'silent', '--follow'], home.env, { timeoutMs: 30_000 });
    const took = Date.now() - started;
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /went silent/);
    assert.match(r.stderr, /opsctl jobs (logs|status) silent/);
    assert.ok(took < 12_000, `took ${took} ms`);
  } finally {
    fs.rmSync(home.dir, { recursive: true, force: true });
  }
});

test('CLI: a service that never answers: --timeout bounds the request, exit 5', async (t) => {
  if (requireSshd(t)) return;
  ensureBuilt();
  const home = privateHome('opsctl-conn-hostile-cli-');
  try {
    const never = http.createServer(() => {});
    const socks = new Set<net.Socket>();
    never.on('connection', (s) => socks.add(s));
    await new Promise<void>((r) => never.listen(0, '127.0.0.1', () => r()));
    const port = (never.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const r = await runCli(
        ['--host', `${TEST_USER}@127.0.0.1:${svc.port}`, '--port', String(port), '--identity', keyPath, '--known-hosts', kh, '--timeout', '3', 'health'],
        home.env,
        { timeoutMs: 30_000 },
      );
      const took = Date.now() - started;
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /internal port 127\.0\.0\.1:\d+ .* did not answer within 3 s \(--timeout\)/);
      // At least the 3 s of silence; the upper bound leaves room for process
      // start and the SSH handshake on a loaded machine, far below the 30 s
      // at which the harness would call it a hang.
      assert.ok(took >= 3000 && took < 15_000, `took ${took} ms`);
    } finally {
      for (const s of socks) s.destroy();
      await new Promise((r) => never.close(r));
    }
  } finally {
    fs.rmSync(path.join(home.dir), { recursive: true, force: true });
  }
});
