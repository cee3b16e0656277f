// The internal port against its physical floor, and the service first, as
// ratios measured in ONE run (src/server/README.md, "Performance of the
// internal port", explains every figure):
//
//   CPU per request, from /proc (utime+stime) of each server process, with
//   an independent load generator (bench/load-gen.mjs: its own process, raw
//   keep-alive sockets, requests signed before the clock starts):
//     bare          a node:http server answering the same JSON as health
//     bare+verify   the same server doing one Ed25519 verify per request
//     port          signed GET /v1/health on the demo service's internal
//                   port (signature, replay cache, audit log, everything)
//   floor = bare + (bare+verify − bare); goal: port ≤ 1.3× floor.
//   Measured twice: at saturation (16 connections, closed loop) and at a
//   steady 500 req/s (open loop), since CPU per request depends on how many
//   requests share an event-loop turn.
//
//   The demo's public API (GET /orders) at a STEADY rate (200 req/s, open
//   loop: latency counts from when a request was due), its p99:
//     unloaded
//     while the port serves a steady 300 signed req/s      goal ≤ 1.1×
//     while the port is driven to saturation               goal ≤ 1.5×
//     while the port gets a forged flood (a real keyid,
//       a wrong signature, closed loop)                    goal ≤ 1.5×
//     the old pattern: public API itself saturated (closed loop) while the
//       port is saturated — what earlier versions of this bench reported
//       (6–7×): two saturating loads on one event loop and 2 cores; no goal.
//
// Each round runs every scenario once; figures are medians over the rounds,
// ratios taken within each round. The load average, `node -e 0` and the
// CPU of the pieces a signed request runs (bench/port-cpu-breakdown.mjs)
// are printed beside them.
//
//   node --import tsx bench/port-throughput.mjs [--seconds N] [--rounds N]
//        [--scenarios a,b,…] [--cpu-prof DIR]   (profile the demo service)
//        [--demo-args '--verify-on-thread-pool 1']  (flags for the demo service)
// or from bench/run.mjs (--only port); writes bench/port-throughput.json.
import { generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { makeKey, SignedClient, waitForJob } from '../test/helpers/signed-client.ts';
import { cpuBreakdown, formatBreakdown } from './port-cpu-breakdown.mjs';
import { formatSummary, summariseProfile } from './cpu-profile-summary.mjs';
import { loadGen, median, nodeStartMs, rawRequest as raw, startBare } from './measure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = 16;
const PUBLIC_CONNECTIONS = 8;
const PUBLIC_RATE = 200;
const PORT_STEADY_RATE = 300;
const CPU_STEADY_RATE = 500;

export const SCENARIOS = ['cpu', 'cpu-steady', 'public', 'public-steady-port', 'public-saturated-port', 'public-forged-flood', 'old-pattern'];

export async function portThroughput({ seconds = 3, rounds = 3, cpuProf, scenarios = SCENARIOS, demoArgs = [] } = {}) {
  const want = new Set(scenarios);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-port-'));
  const key = makeKey(tmp, 'bench-viewer');
  const adminKey = makeKey(tmp, 'bench-admin');
  const profDir = cpuProf ? path.resolve(cpuProf) : undefined;
  if (profDir) fs.mkdirSync(profDir, { recursive: true });
  const service = await startDemoService({
    authorizedKeys: `role="viewer" ${key.publicLine}\nrole="admin" ${adminKey.publicLine}\n`,
    extraArgs: demoArgs,
    ...(profDir ? { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {}),
  });
  const pid = service.proc.pid;
  const internalHost = `127.0.0.1:${service.internal.port}`;
  const client = new SignedClient({ host: '127.0.0.1', port: service.internal.port }, key);
  // GET /orders answers 503 until the database is migrated: measure the 200 path.
  const admin = new SignedClient({ host: '127.0.0.1', port: service.internal.port }, adminKey);
  const plan = await admin.call('migrations.plan');
  const up = await admin.call('migrations.up', { expectedPlan: plan.json.planHash }, { headers: { 'opsctl-reason': 'bench: the public API needs its schema' } });
  if (up.status !== 202) throw new Error(`migrations.up: ${up.status} ${up.text}`);
  await waitForJob(admin, up.json.jobId);
  const first = await client.call('health');
  // The floor's verify: the same kind of key and a base of the same size as a signed health request's.
  const kp = generateKeyPairSync('ed25519');
  const msg = Buffer.from('x'.repeat(260));
  const bare = await startBare(first.text);
  const bareVerify = await startBare(first.text, {
    spki: kp.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    msg: msg.toString('base64'),
    sig: sign(null, msg, kp.privateKey).toString('base64'),
  });
  const loadBefore = os.loadavg();
  const nodeE0 = nodeStartMs();
  const reqFiles = [];
  try {
    /** `n` signed requests (each with its own nonce) in a file for the generator; `forge` breaks each signature. */
    const presign = async (n, forge = false) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const r = await client.prepare('GET', '/v1/health');
        const headers = { ...r.headers };
        if (forge) {
          // A real keyid, a well-formed signature of the right length that does not verify.
          const m = /^(opsctl=:)([^:]+)(:)$/.exec(headers.signature);
          const sig = Buffer.from(m[2], 'base64');
          sig[5] ^= 0x55;
          headers.signature = `${m[1]}${sig.toString('base64')}${m[3]}`;
        }
        out.push(raw('GET', '/v1/health', headers, internalHost));
      }
      const f = path.join(tmp, `signed-${reqFiles.length}.json`);
      fs.writeFileSync(f, JSON.stringify(out));
      reqFiles.push(f);
      return f;
    };
    let expectedRps = 3000;
    const bareReq = raw('GET', '/v1/health', {}, '127.0.0.1');
    const publicReq = raw('GET', '/orders', {}, `127.0.0.1:${service.public.port}`);
    const gen = (cfg) => loadGen({ host: '127.0.0.1', connections: CONNECTIONS, seconds, pids: [], ...cfg }, tmp);
    const cpuOf = async (rate) => {
      const b = await gen({ port: bare.port, request: bareReq, pids: [bare.pid], ...(rate ? { rate } : {}) });
      const bv = await gen({ port: bareVerify.port, request: bareReq, pids: [bareVerify.pid], ...(rate ? { rate } : {}) });
      const p = await gen({ port: service.internal.port, requestsFile: await presign(Math.ceil(seconds * (rate || expectedRps * 1.5)) + 50), pids: [pid], ...(rate ? { rate } : {}) });
      if (!rate) expectedRps = Math.max(expectedRps, p.rps);
      const us = (r, id) => r.cpuUsPerRequest[id];
      const floor = us(b, bare.pid) + (us(bv, bareVerify.pid) - us(b, bare.pid));
      return {
        bare: b, bareVerify: bv, port: p,
        cpuUs: { bare: us(b, bare.pid), bareVerify: us(bv, bareVerify.pid), verify: us(bv, bareVerify.pid) - us(b, bare.pid), floor, port: us(p, pid) },
        ratio: us(p, pid) / floor,
      };
    };
    const publicSteady = (extra = {}) => gen({ port: service.public.port, request: publicReq, connections: PUBLIC_CONNECTIONS, rate: PUBLIC_RATE, pids: [pid], ...extra });
    const together = async (portCfg) => {
      const startAt = Date.now() + 300;
      const [pub, port] = await Promise.all([publicSteady({ startAt }), gen({ ...portCfg, startAt, pids: [pid] })]);
      return { public: pub, port };
    };

    // Warm-up (JIT, audit log file, connections), not measured: the port's
    // first seconds under load cost up to 2× more CPU per request (V8's
    // optimizing compiler runs on other threads of the same process).
    await gen({ port: bare.port, request: bareReq, seconds: 1 });
    await gen({ port: bareVerify.port, request: bareReq, seconds: 1 });
    await gen({ port: service.internal.port, requestsFile: await presign(8000), seconds: 3 });
    await publicSteady({ seconds: 1 });

    const perRound = [];
    for (let r = 0; r < rounds; r++) {
      const round = {};
      if (want.has('cpu')) round.cpu = await cpuOf(0);
      if (want.has('cpu-steady')) round.cpuSteady = await cpuOf(CPU_STEADY_RATE);
      const needPublic = ['public-steady-port', 'public-saturated-port', 'public-forged-flood', 'old-pattern'].some((s) => want.has(s));
      if (want.has('public') || needPublic) round.publicUnloaded = await publicSteady();
      if (want.has('public-steady-port')) {
        round.publicSteadyPort = await together({ port: service.internal.port, rate: PORT_STEADY_RATE, requestsFile: await presign(Math.ceil(seconds * PORT_STEADY_RATE) + 50) });
      }
      if (want.has('public-saturated-port')) {
        round.publicSaturatedPort = await together({ port: service.internal.port, requestsFile: await presign(Math.ceil(seconds * expectedRps * 1.5) + 50) });
      }
      if (want.has('public-forged-flood')) {
        round.publicForgedFlood = await together({ port: service.internal.port, requestsFile: await presign(2000, true), cycle: true });
      }
      if (want.has('old-pattern')) {
        // What earlier versions of this bench measured: the public API in a closed loop on 2 connections.
        const startAt = Date.now() + 300;
        const [pub, port] = await Promise.all([
          gen({ port: service.public.port, request: publicReq, connections: 2, startAt }),
          gen({ port: service.internal.port, requestsFile: await presign(Math.ceil(seconds * expectedRps * 1.5) + 50), startAt }),
        ]);
        const idle = await gen({ port: service.public.port, request: publicReq, connections: 2 });
        round.oldPattern = { public: pub, port, publicUnloaded: idle };
      }
      const p99 = (x) => x?.public?.p99;
      if (round.publicUnloaded) {
        round.publicP99Ratio = {
          steadyPort: p99(round.publicSteadyPort) / round.publicUnloaded.p99,
          saturatedPort: p99(round.publicSaturatedPort) / round.publicUnloaded.p99,
          forgedFlood: p99(round.publicForgedFlood) / round.publicUnloaded.p99,
        };
      }
      if (round.oldPattern) round.oldPatternRatio = round.oldPattern.public.p99 / round.oldPattern.publicUnloaded.p99;
      perRound.push(round);
      for (const f of reqFiles.splice(0)) fs.rmSync(f, { force: true });
    }
    const loadAfter = os.loadavg();
    const med = (f) => median(perRound.map((x) => { try { return f(x); } catch { return NaN; } }));
    const breakdown = await cpuBreakdown();
    const m = {
      cpu: want.has('cpu') ? {
        bareUs: med((x) => x.cpu.cpuUs.bare), verifyUs: med((x) => x.cpu.cpuUs.verify), bareVerifyUs: med((x) => x.cpu.cpuUs.bareVerify),
        floorUs: med((x) => x.cpu.cpuUs.floor), portUs: med((x) => x.cpu.cpuUs.port), ratio: med((x) => x.cpu.ratio),
        bareRps: med((x) => x.cpu.bare.rps), portRps: med((x) => x.cpu.port.rps), portP99: med((x) => x.cpu.port.p99), bareP99: med((x) => x.cpu.bare.p99),
      } : undefined,
      cpuSteady: want.has('cpu-steady') ? {
        rate: CPU_STEADY_RATE,
        bareUs: med((x) => x.cpuSteady.cpuUs.bare), verifyUs: med((x) => x.cpuSteady.cpuUs.verify), floorUs: med((x) => x.cpuSteady.cpuUs.floor),
        portUs: med((x) => x.cpuSteady.cpuUs.port), ratio: med((x) => x.cpuSteady.ratio), portP99: med((x) => x.cpuSteady.port.p99),
      } : undefined,
      publicP99Unloaded: med((x) => x.publicUnloaded.p99),
      publicP99: {
        steadyPort: med((x) => x.publicSteadyPort.public.p99), steadyPortRatio: med((x) => x.publicP99Ratio.steadyPort),
        saturatedPort: med((x) => x.publicSaturatedPort.public.p99), saturatedPortRatio: med((x) => x.publicP99Ratio.saturatedPort),
        saturatedPortRps: med((x) => x.publicSaturatedPort.port.rps),
        forgedFlood: med((x) => x.publicForgedFlood.public.p99), forgedFloodRatio: med((x) => x.publicP99Ratio.forgedFlood),
        forgedFloodRps: med((x) => x.publicForgedFlood.port.rps),
        oldPatternRatio: med((x) => x.oldPatternRatio),
      },
    };
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: { before: loadBefore, after: loadAfter },
      nodeE0Ms: nodeE0,
      connections: CONNECTIONS,
      publicRate: PUBLIC_RATE,
      portSteadyRate: PORT_STEADY_RATE,
      seconds,
      rounds,
      scenarios: [...want],
      median: m,
      goal: { cpuRatio: 1.3, publicSteadyPort: 1.1, publicSaturatedPort: 1.5, publicForgedFlood: 1.5 },
      perRound,
      cpuBreakdownUs: breakdown,
    };
    const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
    const x2 = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
    const ok = (v, goal) => (Number.isFinite(v) ? (v <= goal ? 'ok' : 'MISSED') : '');
    const l = (a) => a.map((v) => v.toFixed(2)).join(' ');
    const rounds_ = (g) => perRound.map((x) => { try { return x2(g(x)); } catch { return '–'; } }).join(', ');
    const lines = [
      '',
      `internal port: median of ${rounds} rounds × ${seconds} s per scenario, independent load generator (bench/load-gen.mjs)`,
      `  machine: ${result.cpus} CPUs, load average ${l(loadBefore)} before, ${l(loadAfter)} after; node -e 0 ${f(nodeE0)} ms`,
    ];
    if (m.cpu) {
      lines.push(
        `CPU per request at saturation (${CONNECTIONS} connections, closed loop), /proc of each server:`,
        `  bare node:http ${f(m.cpu.bareUs)} µs (${f(m.cpu.bareRps)} req/s, p99 ${f(m.cpu.bareP99)} ms)   + one Ed25519 verify ${f(m.cpu.verifyUs)} µs = floor ${f(m.cpu.floorUs)} µs`,
        `  signed GET /v1/health on the port ${f(m.cpu.portUs)} µs (${f(m.cpu.portRps)} req/s, p99 ${f(m.cpu.portP99)} ms)`,
        `  port / floor ${x2(m.cpu.ratio)} (rounds: ${rounds_((x) => x.cpu.ratio)})   goal ≤ 1.3×   ${ok(m.cpu.ratio, 1.3)}`,
      );
    }
    if (m.cpuSteady) {
      lines.push(
        `CPU per request at a steady ${CPU_STEADY_RATE} req/s (open loop):`,
        `  bare ${f(m.cpuSteady.bareUs)} µs + verify ${f(m.cpuSteady.verifyUs)} µs = floor ${f(m.cpuSteady.floorUs)} µs; port ${f(m.cpuSteady.portUs)} µs (p99 ${f(m.cpuSteady.portP99)} ms)`,
        `  port / floor ${x2(m.cpuSteady.ratio)} (rounds: ${rounds_((x) => x.cpuSteady.ratio)})   goal ≤ 1.3×   ${ok(m.cpuSteady.ratio, 1.3)}`,
      );
    }
    if (Number.isFinite(m.publicP99Unloaded)) {
      const p = m.publicP99;
      lines.push(
        `public API GET /orders at a steady ${PUBLIC_RATE} req/s, p99: unloaded ${f(m.publicP99Unloaded)} ms`,
        `  port at a steady ${PORT_STEADY_RATE} signed req/s   ${f(p.steadyPort)} ms → ${x2(p.steadyPortRatio)} (rounds: ${rounds_((x) => x.publicP99Ratio.steadyPort)})   goal ≤ 1.1×   ${ok(p.steadyPortRatio, 1.1)}`,
        `  port saturated (${f(p.saturatedPortRps)} req/s)   ${f(p.saturatedPort)} ms → ${x2(p.saturatedPortRatio)} (rounds: ${rounds_((x) => x.publicP99Ratio.saturatedPort)})   goal ≤ 1.5×   ${ok(p.saturatedPortRatio, 1.5)}`,
        `  forged flood (${f(p.forgedFloodRps)} req/s refused)   ${f(p.forgedFlood)} ms → ${x2(p.forgedFloodRatio)} (rounds: ${rounds_((x) => x.publicP99Ratio.forgedFlood)})   goal ≤ 1.5×   ${ok(p.forgedFloodRatio, 1.5)}`,
        `  old pattern (public API itself saturated, closed loop, while the port is saturated): ${x2(p.oldPatternRatio)} — no goal; see src/server/README.md`,
      );
    }
    lines.push(formatBreakdown(breakdown));
    const runs = perRound.flatMap((x) => [x.cpu?.port, x.cpuSteady?.port, x.publicUnloaded, x.publicSteadyPort?.public, x.publicSteadyPort?.port, x.publicSaturatedPort?.public, x.publicSaturatedPort?.port]).filter(Boolean);
    const bad = runs.filter((x) => x.errors > 0 || x.ranOut || Object.keys(x.statuses).some((s) => s !== '200'));
    if (bad.length) lines.push(`  WARNING: ${bad.length} measurement(s) had non-200 answers, errors or ran out of pre-signed requests: ${JSON.stringify(bad.map((x) => ({ statuses: x.statuses, errors: x.errors, ranOut: x.ranOut })))}`);
    process.stdout.write(lines.join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'bench/port-throughput.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    bare.stop();
    bareVerify.stop();
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
    seconds: Number(arg('--seconds') ?? 3),
    rounds: Number(arg('--rounds') ?? 3),
    cpuProf: arg('--cpu-prof'),
    ...(arg('--scenarios') ? { scenarios: arg('--scenarios').split(',') } : {}),
    // e.g. --demo-args '--verify-on-thread-pool 1': the same bench with the verify on the pool.
    ...(arg('--demo-args') ? { demoArgs: arg('--demo-args').split(' ').filter(Boolean) } : {}),
  });
}
