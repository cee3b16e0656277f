// CPU per signed GET /v1/health of two (or more) builds of the demo service,
// alternated round robin in ONE run, with each process's threads apart
// (/proc/PID/task: the event loop, libuv's thread pool, V8's threads) and
// the floor (bare node:http + one Ed25519 verify) measured beside them. What
// a change to the port's request path was decided with on a shared machine
// (src/server/README.md, "Performance of the internal port").
//
//   cp -r dist /tmp/distA   # the build before a change
//   node --import tsx bench/port-ab.mjs [--seconds N] [--rounds N] [--rate R]
//        A=/tmp/distA B=dist [--cpu-prof DIR]
//
// Without a NAME=DIR argument it measures the current dist/ alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { makeKey, SignedClient } from '../test/helpers/signed-client.ts';
import { CLK_TCK, loadGen, median, rawRequest, startBare } from './measure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const seconds = Number(arg('--seconds', 3));
const rounds = Number(arg('--rounds', 3));
const rate = Number(arg('--rate', 0));
const connections = Number(arg('--connections', 16));
const cpuProf = arg('--cpu-prof');
// --perf DIR: `perf record` of each service during its first measured round
// (on-CPU samples only, kernel included; node runs with --perf-basic-prof so
// JavaScript frames have names): `perf report -i DIR/NAME.data --no-children`.
const perfDir = arg('--perf');
const variants = process.argv.slice(2).filter((a) => /^[A-Za-z0-9_-]+=/.test(a)).map((a) => {
  const [name, dir] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
  return { name, main: path.resolve(dir, 'examples/demo-service/main.js') };
});
if (!variants.length) variants.push({ name: 'dist', main: path.join(root, 'dist/examples/demo-service/main.js') });

/** CPU µs per thread name (comm) of a process: the event loop is "node" (the process's own name). */
function threads(pid) {
  const out = {};
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const comm = t === String(pid) ? 'event loop' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '').trim();
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[comm] = (out[comm] ?? 0) + ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
    } catch { /* thread gone */ }
  }
  return out;
}

if (perfDir) fs.mkdirSync(perfDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-port-ab-'));
const key = makeKey(tmp, 'ab-viewer');
const services = [];
try {
  for (const v of variants) {
    const svc = await startDemoService({
      authorizedKeys: `role="viewer" ${key.publicLine}\n`,
      main: v.main,
      ...(cpuProf ? { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProf, v.name)] } : {}),
      ...(perfDir ? { nodeFlags: ['--perf-basic-prof'] } : {}),
    });
    const client = new SignedClient({ host: '127.0.0.1', port: svc.internal.port }, key);
    const first = await client.call('health');
    services.push({ ...v, svc, client, body: first.text, results: [] });
  }
  const kp = generateKeyPairSync('ed25519');
  const msg = Buffer.from('x'.repeat(260));
  const bare = await startBare(services[0].body);
  const bareVerify = await startBare(services[0].body, {
    spki: kp.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    msg: msg.toString('base64'),
    sig: sign(null, msg, kp.privateKey).toString('base64'),
  });
  const presign = async (s, n) => {
    const out = [];
    const host = `127.0.0.1:${s.svc.internal.port}`;
    for (let i = 0; i < n; i++) out.push(rawRequest('GET', '/v1/health', (await s.client.prepare('GET', '/v1/health')).headers, host));
    const f = path.join(tmp, `signed-${s.name}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(out));
    return f;
  };
  const gen = (cfg) => loadGen({ host: '127.0.0.1', connections, seconds, ...(rate ? { rate } : {}), ...cfg }, tmp);
  const bareReq = rawRequest('GET', '/v1/health', {}, '127.0.0.1');
  // Warm-up: JIT, audit log, connections.
  for (const s of services) await gen({ port: s.svc.internal.port, requestsFile: await presign(s, 12000), seconds: 4, rate: 0 });
  await gen({ port: bare.port, request: bareReq, seconds: 1 });
  await gen({ port: bareVerify.port, request: bareReq, seconds: 1 });
  const floor = [];
  const load = [os.loadavg()[0]];
  for (let r = 0; r < rounds; r++) {
    const b = await gen({ port: bare.port, request: bareReq, pids: [bare.pid] });
    const bv = await gen({ port: bareVerify.port, request: bareReq, pids: [bareVerify.pid] });
    floor.push({ bare: b.cpuUsPerRequest[bare.pid], verify: bv.cpuUsPerRequest[bareVerify.pid] - b.cpuUsPerRequest[bare.pid] });
    for (const s of services) {
      const file = await presign(s, Math.ceil(seconds * (rate || 4000)) + 50);
      const pid = s.svc.proc.pid;
      const t0 = threads(pid);
      const rec = perfDir && r === 0
        ? spawn('perf', ['record', '-F', '1999', ...(process.env.PERF_G ? ['-g'] : []), '-p', String(pid), '-o', path.resolve(perfDir, `${s.name}.data`), '--', 'sleep', String(seconds)], { stdio: 'ignore' })
        : undefined;
      const g = await gen({ port: s.svc.internal.port, requestsFile: file, pids: [pid] });
      if (rec) await new Promise((res) => (rec.exitCode !== null ? res() : rec.once('exit', res)));
      const t1 = threads(pid);
      const n = g.n ?? g.requests ?? Math.round(g.rps * seconds);
      const per = Object.fromEntries(Object.keys(t1).map((k) => [k, (t1[k] - (t0[k] ?? 0)) / n]));
      s.results.push({ us: g.cpuUsPerRequest[pid], rps: g.rps, threads: per, statuses: g.statuses });
      fs.rmSync(file, { force: true });
    }
    load.push(os.loadavg()[0]);
  }
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const fl = median(floor.map((x) => x.bare + x.verify));
  console.log(`${rounds} rounds × ${seconds} s, ${rate ? `steady ${rate} req/s` : `closed loop, ${connections} connections`}; load average ${load.map((x) => x.toFixed(1)).join(' → ')}`);
  console.log(`floor: bare ${f(median(floor.map((x) => x.bare)))} µs + verify ${f(median(floor.map((x) => x.verify)))} µs = ${f(fl)} µs`);
  for (const s of services) {
    const us = median(s.results.map((x) => x.us));
    const names = [...new Set(s.results.flatMap((x) => Object.keys(x.threads)))];
    const th = names.map((k) => [k, median(s.results.map((x) => x.threads[k] ?? 0))]).filter(([, v]) => v >= 0.5).sort((a, b) => b[1] - a[1]);
    console.log(`${s.name.padEnd(8)} ${f(us)} µs/request (${(us / fl).toFixed(2)}× floor; rounds ${s.results.map((x) => f(x.us)).join(', ')}), ${f(median(s.results.map((x) => x.rps)))} req/s; threads: ${th.map(([k, v]) => `${k} ${f(v)}`).join(', ')}; statuses ${JSON.stringify(s.results.at(-1).statuses)}`);
  }
  bare.stop();
  bareVerify.stop();
} finally {
  for (const s of services) await s.svc.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
