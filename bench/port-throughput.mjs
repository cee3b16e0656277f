// Throughput of the internal port, as ratios measured in ONE run:
//
//   signed GET /v1/health on the demo service's internal port (audit log,
//   signature check, replay cache, everything), 16 keep-alive connections,
//   requests signed before the clock starts
//     vs  a bare node:http server (its own process) answering the same JSON
//   goal: ≥ 0.5× the bare server's requests/s; p99 of each reported
//
//   p99 of the demo's public API (GET /orders, migrated database, so 200s)
//   while the internal port is under that load  vs  unloaded; goal ≤ 1.1×
//
// Each round runs bare, port, public unloaded, public + port together; the
// figures reported are the medians over the rounds (ratios are taken within
// each round, so machine load cancels out as far as it can). Beside them:
// CPU time per request of each server process (from /proc) and of the load
// generator (this process: node:http clients sharing the same 2 cores), the
// load average, a bare `node -e 0`, and the per-request CPU of the pieces a
// signed request costs (bench/port-cpu-breakdown.mjs), measured here and now.
//
//   node --import tsx bench/port-throughput.mjs [--seconds N] [--rounds N]
//        [--cpu-prof DIR]   (profile the demo service; summary printed)
// or from bench/run.mjs; writes bench/port-throughput.json.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { makeKey, SignedClient, waitForJob } from '../test/helpers/signed-client.ts';
import { cpuBreakdown, formatBreakdown } from './port-cpu-breakdown.mjs';
import { formatSummary, summariseProfile } from './cpu-profile-summary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = 16;
const PUBLIC_CONNECTIONS = 2;

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** utime + stime of a process, in µs (/proc/PID/stat; Linux). */
function procCpuMicros(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
  } catch {
    return NaN;
  }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Sends requests from `next()` over `connections` keep-alive sockets for `seconds`; CPU per request of `pid` and of this process. */
async function load({ port, seconds, connections, next, pid }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const lat = [];
  let errors = 0;
  const statuses = {};
  const end = performance.now() + seconds * 1000;
  const one = (r) => new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
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
  const cpu0 = procCpuMicros(pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const serverCpu = procCpuMicros(pid) - cpu0;
  const self = process.cpuUsage(self0);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const n = lat.length;
  return {
    requests: n,
    errors,
    statuses,
    rps: n / elapsed,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    serverCpuUsPerRequest: serverCpu / n,
    serverCpuShare: serverCpu / 1e6 / elapsed,
    clientCpuUsPerRequest: (self.user + self.system) / n,
  };
}

function startBare(body) {
  const src = `const http=require('node:http');const b=Buffer.from(process.argv[1]);` +
    `const s=http.createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)});` +
    `s.keepAliveTimeout=5000;s.listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'))`;
  const proc = spawn(process.execPath, ['-e', src, body], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8').once('data', (d) => resolve({ port: Number(d.trim()), pid: proc.pid, stop: () => { proc.kill('SIGTERM'); } }));
    proc.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
}

/** Median wall time of `node -e 0`, ms: how fast this machine is right now. */
function nodeStartMs(runs = 5) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    t.push(performance.now() - t0);
  }
  return median(t);
}

export async function portThroughput({ seconds = 5, rounds = 3, cpuProf } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-port-'));
  const key = makeKey(tmp, 'bench-viewer');
  const adminKey = makeKey(tmp, 'bench-admin');
  const profDir = cpuProf ? path.resolve(cpuProf) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });
  const service = await startDemoService({
    authorizedKeys: `role="viewer" ${key.publicLine}\nrole="admin" ${adminKey.publicLine}\n`,
    ...(profDir ? { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {}),
  });
  const pid = service.proc.pid;
  const client = new SignedClient({ host: '127.0.0.1', port: service.internal.port }, key);
  // GET /orders answers 503 until the database is migrated: measure the 200 path.
  const admin = new SignedClient({ host: '127.0.0.1', port: service.internal.port }, adminKey);
  const plan = await admin.call('migrations.plan');
  const up = await admin.call('migrations.up', { expectedPlan: plan.json.planHash }, { headers: { 'opsctl-reason': 'bench: the public API needs its schema' } });
  if (up.status !== 202) throw new Error(`migrations.up: ${up.status} ${up.text}`);
  await waitForJob(admin, up.json.jobId);
  const first = await client.call('health');
  const bare = await startBare(first.text);
  const loadBefore = os.loadavg();
  const nodeE0 = nodeStartMs();
  try {
    // Signed in advance (each with its own nonce), so the clock measures the server, not our signing.
    const presign = async (n) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await client.prepare('GET', '/v1/health'));
      return out;
    };
    let expected = 6000;
    const signedLoad = async (secs, signed) => {
      const reqs = signed ?? await presign(Math.ceil(secs * expected));
      let i = 0;
      const r = await load({ port: service.internal.port, seconds: secs, connections: CONNECTIONS, pid, next: () => reqs[i++] });
      if (i > reqs.length) r.ranOutOfSignedRequests = true;
      expected = Math.max(expected, Math.ceil(r.rps * 1.5));
      return r;
    };
    const bareReq = { method: 'GET', path: '/v1/health', headers: {} };
    const bareLoad = (secs) => load({ port: bare.port, seconds: secs, connections: CONNECTIONS, pid: bare.pid, next: () => bareReq });
    const publicReq = { method: 'GET', path: '/orders', headers: {} };
    const publicLoad = (secs) => load({ port: service.public.port, seconds: secs, connections: PUBLIC_CONNECTIONS, pid, next: () => publicReq });

    await bareLoad(1); await signedLoad(1); await publicLoad(1); // warm-up
    const perRound = [];
    for (let r = 0; r < rounds; r++) {
      const b = await bareLoad(seconds);
      const p = await signedLoad(seconds);
      const idle = await publicLoad(seconds);
      const duringReqs = await presign(Math.ceil(seconds * expected));
      const [loaded, during] = await Promise.all([publicLoad(seconds), signedLoad(seconds, duringReqs)]);
      perRound.push({ bare: b, port: p, ratio: p.rps / b.rps, publicUnloaded: idle, publicLoaded: loaded, portDuringPublic: during, publicP99Ratio: loaded.p99 / idle.p99 });
    }
    const loadAfter = os.loadavg();
    const med = (f) => median(perRound.map(f));
    const breakdown = await cpuBreakdown();
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: { before: loadBefore, after: loadAfter },
      nodeE0Ms: nodeE0,
      connections: CONNECTIONS,
      seconds,
      rounds,
      median: {
        bareRps: med((x) => x.bare.rps),
        portRps: med((x) => x.port.rps),
        ratio: med((x) => x.ratio),
        bareP99: med((x) => x.bare.p99),
        portP99: med((x) => x.port.p99),
        bareServerCpuUs: med((x) => x.bare.serverCpuUsPerRequest),
        portServerCpuUs: med((x) => x.port.serverCpuUsPerRequest),
        portServerCpuShare: med((x) => x.port.serverCpuShare),
        clientCpuUsBare: med((x) => x.bare.clientCpuUsPerRequest),
        clientCpuUsPort: med((x) => x.port.clientCpuUsPerRequest),
        publicP99Unloaded: med((x) => x.publicUnloaded.p99),
        publicP99Loaded: med((x) => x.publicLoaded.p99),
        publicP99Ratio: med((x) => x.publicP99Ratio),
      },
      goal: { ratio: 0.5, publicP99Ratio: 1.1 },
      perRound,
      cpuBreakdownUs: breakdown,
    };
    const m = result.median;
    const f = (x) => x.toFixed(1);
    const l = (a) => a.map((x) => x.toFixed(2)).join(' ');
    const lines = [
      '',
      `internal port throughput: ${CONNECTIONS} keep-alive connections, pre-signed GET /v1/health, median of ${rounds} rounds × ${seconds} s`,
      `  machine: ${result.cpus} CPUs, load average ${l(loadBefore)} before, ${l(loadAfter)} after; node -e 0 ${f(nodeE0)} ms`,
      `  bare node:http        ${f(m.bareRps).padStart(8)} req/s   p99 ${f(m.bareP99)} ms   server CPU ${f(m.bareServerCpuUs)} µs/req, load generator ${f(m.clientCpuUsBare)} µs/req`,
      `  opsctl internal port  ${f(m.portRps).padStart(8)} req/s   p99 ${f(m.portP99)} ms   server CPU ${f(m.portServerCpuUs)} µs/req (${Math.round(m.portServerCpuShare * 100)} % of a core), load generator ${f(m.clientCpuUsPort)} µs/req`,
      `  ratio                 ${m.ratio.toFixed(2)}× (rounds: ${perRound.map((x) => x.ratio.toFixed(2)).join(', ')})   goal ≥ 0.5×   ${m.ratio >= 0.5 ? 'ok' : 'MISSED'}`,
      `public API GET /orders p99: unloaded ${f(m.publicP99Unloaded)} ms, with the port loaded ${f(m.publicP99Loaded)} ms → ${m.publicP99Ratio.toFixed(2)}× (rounds: ${perRound.map((x) => x.publicP99Ratio.toFixed(2)).join(', ')})   goal ≤ 1.1×   ${m.publicP99Ratio <= 1.1 ? 'ok' : 'MISSED'}`,
      formatBreakdown(breakdown),
    ];
    const bad = perRound.flatMap((x) => [x.bare, x.port, x.publicUnloaded, x.publicLoaded, x.portDuringPublic]).filter((x) => x.errors > 0 || x.ranOutOfSignedRequests);
    if (bad.length) lines.push(`  WARNING: ${bad.length} measurement(s) had non-200 answers or ran out of pre-signed requests: ${JSON.stringify(bad.map((x) => x.statuses))}`);
    process.stdout.write(lines.join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'bench/port-throughput.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    bare.stop();
    await service.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    if (profDir) {
      const newest = fs.readdirSync(profDir).filter((n) => n.endsWith('.cpuprofile')).map((n) => path.join(profDir, n)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      if (newest) process.stdout.write(`\ndemo service CPU profile ${newest}\n${formatSummary(summariseProfile(newest), 30)}\n`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  await portThroughput({
    seconds: Number(arg('--seconds') ?? 5),
    rounds: Number(arg('--rounds') ?? 3),
    cpuProf: arg('--cpu-prof'),
  });
}
