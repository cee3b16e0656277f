// Throughput of the internal port, as ratios measured in ONE run:
//
//   signed GET /v1/health on the demo service's internal port (audit log,
//   signature check, replay cache, everything), 16 keep-alive connections,
//   requests signed before the clock starts
//     vs  a bare node:http server (its own process) answering the same JSON
//   goal: ≥ 0.5× the bare server's requests/s; p99 of each reported
//
//   p99 of the demo's public API (GET /orders) while the internal port is
//   under that load  vs  unloaded; goal ≤ 1.1×
//
// Run alone (node --import tsx bench/port-throughput.mjs [--seconds N]) or
// from bench/run.mjs; writes bench/port-throughput.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { makeKey, SignedClient } from '../test/helpers/signed-client.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = 16;

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sends `requests` (or a generator of them) over `connections` keep-alive sockets for `seconds`. */
async function load({ port, seconds, connections, next }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const lat = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const one = (r) => new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        lat.push(performance.now() - t0);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
  const worker = async () => {
    while (performance.now() < end) {
      const r = next();
      if (!r) break;
      await one(r);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { requests: lat.length, errors, rps: lat.length / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

function startBare(body) {
  const src = `const http=require('node:http');const b=Buffer.from(process.argv[1]);` +
    `const s=http.createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)});` +
    `s.keepAliveTimeout=5000;s.listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))`;
  const proc = spawn(process.execPath, ['-e', src, body], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8').once('data', (d) => resolve({ port: Number(d.trim()), stop: () => { proc.kill('SIGTERM'); } }));
    proc.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
}

export async function portThroughput({ seconds = 5 } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-port-'));
  const key = makeKey(tmp, 'bench-viewer');
  const service = await startDemoService({ authorizedKeys: `role="viewer" ${key.publicLine}\n` });
  const client = new SignedClient({ host: '127.0.0.1', port: service.internal.port }, key);
  const first = await client.call('health');
  const bare = await startBare(first.text);
  try {
    // Signed in advance (each with its own nonce), so the clock measures the server, not our signing.
    const presign = async (n) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await client.prepare('GET', '/v1/health'));
      return out;
    };
    // Signing is CPU work without I/O: done before a measurement, never during one.
    const signedLoad = async (secs, signed) => {
      const reqs = signed ?? await presign(Math.ceil(secs * 6000));
      let i = 0;
      return load({ port: service.internal.port, seconds: secs, connections: CONNECTIONS, next: () => reqs[i++] });
    };
    const bareReq = { method: 'GET', path: '/v1/health', headers: {} };
    const bareLoad = (secs) => load({ port: bare.port, seconds: secs, connections: CONNECTIONS, next: () => bareReq });
    const publicReq = { method: 'GET', path: '/orders', headers: {} };
    const publicLoad = (secs) => load({ port: service.public.port, seconds: secs, connections: 2, next: () => publicReq });

    await bareLoad(1); await signedLoad(1); // warm-up
    const rounds = [];
    for (let r = 0; r < 2; r++) rounds.push({ bare: await bareLoad(seconds), port: await signedLoad(seconds) });
    const best = (k) => rounds.map((x) => x[k]).sort((a, b) => b.rps - a.rps)[0];
    const bareBest = best('bare');
    const portBest = best('port');
    const publicIdle = await publicLoad(seconds);
    const duringReqs = await presign(Math.ceil(seconds * 6000));
    const [publicLoaded, during] = await Promise.all([publicLoad(seconds), signedLoad(seconds, duringReqs)]);
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      connections: CONNECTIONS,
      seconds,
      bare: bareBest,
      port: portBest,
      ratio: portBest.rps / bareBest.rps,
      goal: 0.5,
      publicApi: { unloaded: publicIdle, whilePortLoaded: publicLoaded, p99Ratio: publicLoaded.p99 / publicIdle.p99, goal: 1.1, portDuring: during },
    };
    const f = (x) => x.toFixed(1);
    const lines = [
      '',
      `internal port throughput: ${CONNECTIONS} keep-alive connections, pre-signed GET /v1/health, best of 2 × ${seconds} s`,
      `  bare node:http        ${f(bareBest.rps).padStart(8)} req/s   p50 ${f(bareBest.p50)} ms   p99 ${f(bareBest.p99)} ms`,
      `  opsctl internal port  ${f(portBest.rps).padStart(8)} req/s   p50 ${f(portBest.p50)} ms   p99 ${f(portBest.p99)} ms   (errors ${portBest.errors})`,
      `  ratio                 ${result.ratio.toFixed(2)}×   goal ≥ 0.5×   ${result.ratio >= 0.5 ? 'ok' : 'MISSED'}`,
      `public API GET /orders p99: unloaded ${f(publicIdle.p99)} ms, with the port loaded ${f(publicLoaded.p99)} ms → ${result.publicApi.p99Ratio.toFixed(2)}×   goal ≤ 1.1×   ${result.publicApi.p99Ratio <= 1.1 ? 'ok' : 'MISSED'}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'bench/port-throughput.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    bare.stop();
    await service.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--seconds');
  await portThroughput({ seconds: i >= 0 ? Number(process.argv[i + 1]) : 5 });
}
