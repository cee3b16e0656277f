/**
 * The built CLI facing a hostile service through a real bastion and service
 * host (two OpenSSH sshd): an answer that never ends is cut at
 * `--max-response-size` while the CLI process itself stays small (its peak
 * RSS is read from /proc while it runs), and a service that never answers —
 * or answers one byte every 200 ms, never falling silent — is bounded by
 * `--timeout` for the whole request. Exit codes as in docs: 1 for a too-large
 * answer, 5 for a timeout. test/transport/hostile-service.test.ts covers the
 * transport itself on one hop.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { requireSshd, sshdMissing, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { CLI, ROOT, ensureBuilt, privateHome } from '../helpers/stack.js';
import { generateKeyPair } from '../helpers/keys.js';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
let bastion: Sshd | undefined;
let host: Sshd | undefined;
let server: http.Server | undefined;
let port = 0;
const sockets = new Set<net.Socket>();
const home = privateHome('flt-hostile-');
let conn: string[] = [];

before(async () => {
  if (sshdMissing()) return;
  ensureBuilt();
  const key = generateKeyPair('flt-operator', { dir: home.dir });
  bastion = await startSshd({ authorizedKeys: [key.publicLine] });
  host = await startSshd({ authorizedKeys: [key.publicLine] });
  const kh = path.join(home.dir, 'known_hosts');
  fs.writeFileSync(kh, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
  server = http.createServer((req, res) => {
    requests.push(`${scenario} ${req.method} ${req.url}`);
    if (scenario === 'endless') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (!res.destroyed && res.write(CHUNK)) { /* as fast as the channel takes it */ }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    } else if (scenario === 'drip') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 200);
    }
    // 'never': read the request, answer nothing, ever.
  });
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
  conn = [
    '--bastion', `${TEST_USER}@127.0.0.1:${bastion.port}`,
    '--host', `${TEST_USER}@127.0.0.1:${host.port}`,
    '--port', String(port),
    '--identity', key.privatePath,
    '--known-hosts', kh,
  ];
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await host?.stop();
  await bastion?.stop();
  fs.rmSync(home.dir, { recursive: true, force: true });
});

let scenario: 'endless' | 'drip' | 'never' = 'never';
/** What reached the hostile service (through both sshd hops). */
const requests: string[] = [];

/** Runs the built CLI, sampling its RSS from /proc every 20 ms. */
function runMeasured(args: string[]): Promise<{ code: number | null; stderr: string; tookMs: number; peakRssKiB: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let peak = 0;
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const sample = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch { /* exited */ }
    }, 20);
    const kill = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`opsctl ${args.join(' ')} hung; stderr: ${stderr}`)); }, 60_000);
    child.once('exit', (code) => {
      clearInterval(sample);
      clearTimeout(kill);
      resolve({ code, stderr, tookMs: Date.now() - started, peakRssKiB: peak });
    });
  });
}

test('an endless body is cut at the size cap with bounded CLI memory and one clear message (exit 1)', async (t) => {
  if (requireSshd(t)) return;
  scenario = 'endless';
  const r = await runMeasured([...conn, '--timeout', '20', '--max-response-size', '4MiB', 'health']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /larger than 4 MiB; the response was dropped \(raise the limit with --max-response-size\)/, `names the cap and the flag:\n${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one message:\n${r.stderr}`);
  assert.ok(r.tookMs < 15_000, `cut at the cap, not at the timeout: ${r.tookMs} ms`);
  assert.ok(requests.some((q) => q.startsWith('endless GET /v1/health')), `the request crossed both hops: ${JSON.stringify(requests)}`);
  assert.ok(r.peakRssKiB > 0, 'RSS was sampled');
  assert.ok(r.peakRssKiB < 200 * 1024, `CLI peak RSS ${r.peakRssKiB} KiB`);
  t.diagnostic(`endless body: cut after ${r.tookMs} ms, CLI peak RSS ${Math.round(r.peakRssKiB / 1024)} MiB`);
  // The default cap (16 MiB) holds without any flag.
  const d = await runMeasured([...conn, '--timeout', '20', 'health']);
  assert.equal(d.code, 1, d.stderr);
  assert.match(d.stderr, /larger than 16 MiB/, `the default cap is 16 MiB:\n${d.stderr}`);
  assert.ok(d.peakRssKiB < 250 * 1024, `CLI peak RSS ${d.peakRssKiB} KiB at the default cap`);
});

for (const s of ['never', 'drip'] as const) {
  test(`a service that ${s === 'never' ? 'never answers' : 'answers one byte every 200 ms forever'}: --timeout 3 bounds the whole request (exit 5)`, async (t) => {
    if (requireSshd(t)) return;
    scenario = s;
    const r = await runMeasured([...conn, '--timeout', '3', 'health']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /within 3 s \(--timeout\)/, `names the timeout and the flag:\n${r.stderr}`);
    assert.ok(r.tookMs >= 3000 && r.tookMs < 10_000, `took ${r.tookMs} ms`);
    assert.ok(requests.some((q) => q.startsWith(`${s} GET /v1/health`)), `the timeout hit the request, not the SSH connect: ${JSON.stringify(requests)}`);
    t.diagnostic(`${s}: exit 5 after ${r.tookMs} ms`);
  });
}
