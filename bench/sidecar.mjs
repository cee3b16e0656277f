// opsctl-port in front of Caddy's admin API, as ratios measured in ONE run
// (Debian's caddy, the shipped examples/sidecar/caddy files):
//
//   proxied GET   signed GET /v1/caddy/upstreams through opsctl-port (16
//                 keep-alive connections, requests signed before the clock)
//                 vs  GET /reverse_proxy/upstreams straight to Caddy's unix
//                 socket (same connections): CPU per request of the server
//                 side (opsctl-port + Caddy, vs Caddy alone), requests/s, p50;
//                 and opsctl-port's own CPU for a signed GET /v1/whoami (the
//                 port without an upstream), so the adaptor's share shows
//   one-shot      `opsctl call caddy.config` through a bastion (real sshd ×2)
//                 vs  `ssh -J bastion host curl --unix-socket … /config/`, the
//                 way one reads Caddy's config by hand: median wall time of
//                 N runs, round robin; goal ≤ 1.0×
//
// Each reports the load average and a bare `node -e 0` beside it. Results:
// stdout and bench/sidecar.json. Run by bench/run.mjs, or alone:
//   node --import tsx bench/sidecar.mjs [--seconds N] [--rounds N] [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { makeKey, SignedClient } from '../test/helpers/signed-client.ts';
import { sshdMissing, startSshd, freePort } from '../test/helpers/sshd.ts';
import { median, nodeStartMs, percentile, procCpuMicros as cpuMicros } from './measure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = 16;

/** Requests from next() over keep-alive connections for `seconds`; server CPU per request summed over `pids`. */
async function load({ target, seconds, next, pids }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const lat = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const one = (r) => new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ ...target, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
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
  const cpu0 = pids.map(cpuMicros);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = pids.map((p, i) => cpuMicros(p) - cpu0[i]);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const n = lat.length;
  return { requests: n, errors, rps: n / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99), cpuUsPerRequest: cpu.map((c) => c / n), serverCpuUsPerRequest: cpu.reduce((a, b) => a + b, 0) / n };
}

function waitFor(check, ms, what) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`bench: timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** Caddy (examples/sidecar/caddy) and opsctl-port in front of it, in `dir`. */
async function startCaddyAndPort(dir, keys) {
  fs.cpSync(path.join(root, 'examples/sidecar/caddy'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  const env = { PATH: process.env.PATH, EXAMPLE_DIR: dir, CADDY_PORT: String(await freePort()), BACKEND1_PORT: String(await freePort()), BACKEND2_PORT: String(await freePort()), HOME: dir, XDG_DATA_HOME: path.join(dir, 'run'), XDG_CONFIG_HOME: path.join(dir, 'run') };
  const caddyLog = fs.openSync(path.join(dir, 'caddy.log'), 'a');
  const caddy = spawn('/usr/bin/caddy', ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { cwd: dir, env, stdio: ['ignore', caddyLog, caddyLog] });
  fs.closeSync(caddyLog);
  const sock = path.join(dir, 'run/caddy-admin.sock');
  await waitFor(() => fs.existsSync(sock), 30_000, 'Caddy\'s admin socket');
  fs.writeFileSync(path.join(dir, 'opsctl_keys'), keys.map(([k, role]) => `role="${role}" ${k.publicLine}`).join('\n') + '\n', { mode: 0o600 });
  const cfg = path.join(dir, 'opsctl-port.yaml');
  const doc = parseDocument(fs.readFileSync(cfg, 'utf8'), { merge: true });
  doc.set('port', 0);
  fs.writeFileSync(cfg, doc.toString());
  const port = spawn(process.execPath, [path.join(root, 'bin/opsctl-port.js'), '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  port.stderr.setEncoding('utf8').on('data', (d) => { log += d; });
  await waitFor(() => /listening on 127\.0\.0\.1:\d+\n/.test(log) || port.exitCode !== null, 60_000, 'opsctl-port');
  if (port.exitCode !== null) throw new Error(`bench: opsctl-port exited: ${log}`);
  const internal = Number(/listening on 127\.0\.0\.1:(\d+)\n/.exec(log)[1]);
  const stop = () => {
    port.kill('SIGTERM');
    caddy.kill('SIGTERM');
  };
  return { sock, internal, caddyPid: caddy.pid, portPid: port.pid, stop };
}

export async function sidecarBench({ seconds = 5, rounds = 3, runs = 11 } = {}) {
  if (!fs.existsSync('/usr/bin/caddy')) {
    process.stdout.write('\nopsctl-port bench: skipped (/usr/bin/caddy is not installed: apt-get install caddy)\n');
    return undefined;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-sidecar-'));
  fs.chmodSync(tmp, 0o700);
  const viewer = makeKey(tmp, 'bench-viewer');
  const started = [];
  const loadBefore = os.loadavg();
  const nodeE0 = nodeStartMs();
  try {
    const up = await startCaddyAndPort(path.join(tmp, 'caddy'), [[viewer, 'viewer']]);
    started.push(up);
    const client = new SignedClient({ host: '127.0.0.1', port: up.internal }, viewer);
    const check = await client.send('GET', '/v1/caddy/upstreams');
    if (check.status !== 200) throw new Error(`bench: caddy.upstreams answered ${check.status} ${check.text}`);

    // A. CPU per proxied request.
    let expected = 3000;
    const presign = async (n, p) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await client.prepare('GET', p));
      return out;
    };
    const signed = async (p, secs) => {
      const reqs = await presign(Math.ceil(secs * expected), p);
      let i = 0;
      const r = await load({ target: { host: '127.0.0.1', port: up.internal }, seconds: secs, pids: [up.portPid, up.caddyPid], next: () => reqs[i++] });
      if (i > reqs.length) r.ranOut = true;
      expected = Math.max(expected, Math.ceil(r.rps * 1.5));
      return r;
    };
    const directReq = { method: 'GET', path: '/reverse_proxy/upstreams', headers: { host: '' } };
    const direct = (secs) => load({ target: { socketPath: up.sock, setHost: false }, seconds: secs, pids: [up.caddyPid], next: () => directReq });
    await direct(1); await signed('/v1/caddy/upstreams', 1); await signed('/v1/whoami', 1); // warm-up
    const perRound = [];
    for (let r = 0; r < rounds; r++) {
      const d = await direct(seconds);
      const p = await signed('/v1/caddy/upstreams', seconds);
      const h = await signed('/v1/whoami', seconds);
      perRound.push({ direct: d, proxied: p, whoami: h, cpuRatio: p.serverCpuUsPerRequest / d.serverCpuUsPerRequest });
    }
    const med = (f) => median(perRound.map(f));
    const proxied = {
      directRps: med((x) => x.direct.rps),
      proxiedRps: med((x) => x.proxied.rps),
      directP50: med((x) => x.direct.p50),
      proxiedP50: med((x) => x.proxied.p50),
      directCaddyCpuUs: med((x) => x.direct.cpuUsPerRequest[0]),
      proxiedPortCpuUs: med((x) => x.proxied.cpuUsPerRequest[0]),
      proxiedCaddyCpuUs: med((x) => x.proxied.cpuUsPerRequest[1]),
      whoamiPortCpuUs: med((x) => x.whoami.cpuUsPerRequest[0]),
      cpuRatio: med((x) => x.cpuRatio),
    };

    // B. One-shot: opsctl call caddy.config vs ssh -J … curl --unix-socket.
    let oneShot;
    const missing = sshdMissing();
    if (!missing && !spawnSync('curl', ['--version'], { stdio: 'ignore' }).error) {
      const key = path.join(tmp, 'operator');
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-operator', '-f', key]);
      const pub = fs.readFileSync(`${key}.pub`, 'utf8').trim();
      fs.appendFileSync(path.join(tmp, 'caddy/opsctl_keys'), `role="viewer" ${pub}\n`);
      const user = os.userInfo().username;
      const host = await startSshd({ authorizedKeys: [pub] });
      started.push(host);
      const bastion = await startSshd({ authorizedKeys: [pub] });
      started.push(bastion);
      const knownHosts = path.join(tmp, 'known_hosts');
      fs.writeFileSync(knownHosts, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
      const sshConfig = path.join(tmp, 'ssh_config');
      fs.writeFileSync(sshConfig, [
        'Host bench-bastion', '  HostName 127.0.0.1', `  Port ${bastion.port}`,
        'Host bench-host', '  HostName 127.0.0.1', `  Port ${host.port}`, '  ProxyJump bench-bastion',
        'Host *', `  User ${user}`, `  IdentityFile ${key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`,
        '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR', '',
      ].join('\n'));
      const env = { PATH: process.env.PATH, HOME: path.join(tmp, 'home'), XDG_CONFIG_HOME: path.join(tmp, 'config'), XDG_CACHE_HOME: path.join(tmp, 'cache'), NO_COLOR: '1', ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}) };
      for (const d of ['home', 'config', 'cache']) fs.mkdirSync(path.join(tmp, d), { mode: 0o700 });
      const cases = [
        { name: 'opsctl call caddy.config', cmd: process.execPath, args: [path.join(root, 'bin/opsctl.js'), '--bastion', `${user}@127.0.0.1:${bastion.port}`, '--host', `${user}@127.0.0.1:${host.port}`, '--port', String(up.internal), '--identity', key, '--known-hosts', knownHosts, 'call', 'caddy.config', '-o', 'json'], samples: [] },
        { name: 'ssh -J … curl --unix-socket …/config/', cmd: 'ssh', args: ['-F', sshConfig, 'bench-host', `curl -sf --unix-socket ${up.sock} -H 'Host: ' http://admin/config/`], samples: [] },
      ];
      const once = (c) => {
        const t0 = performance.now();
        const r = spawnSync(c.cmd, c.args, { env, encoding: 'utf8', timeout: 60_000 });
        if (r.status !== 0 || !r.stdout.includes('"admin"')) throw new Error(`bench: ${c.name}: exit ${r.status}: ${(r.stderr || r.stdout).slice(0, 300)}`);
        return performance.now() - t0;
      };
      for (let i = 0; i < 2; i++) for (const c of cases) once(c);
      for (let i = 0; i < runs; i++) for (const c of cases) c.samples.push(once(c));
      const [a, b] = cases.map((c) => median(c.samples));
      oneShot = { runs, opsctlMs: a, sshCurlMs: b, ratio: a / b, goal: 1, samples: Object.fromEntries(cases.map((c) => [c.name, c.samples.map((x) => Math.round(x))])) };
    }
    const loadAfter = os.loadavg();
    const result = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: { before: loadBefore, after: loadAfter }, nodeE0Ms: nodeE0, connections: CONNECTIONS, seconds, rounds, proxied, perRound, oneShot: oneShot ?? { skipped: missing ?? 'curl is not installed' } };
    const f = (x) => x.toFixed(1);
    const l = (a) => a.map((x) => x.toFixed(2)).join(' ');
    const p = proxied;
    const lines = [
      '',
      `opsctl-port in front of Caddy's admin API: ${CONNECTIONS} keep-alive connections, median of ${rounds} rounds × ${seconds} s`,
      `  machine: ${result.cpus} CPUs, load average ${l(loadBefore)} before, ${l(loadAfter)} after; node -e 0 ${f(nodeE0)} ms`,
      `  straight to Caddy's socket   ${f(p.directRps).padStart(8)} req/s  p50 ${f(p.directP50)} ms  server CPU ${f(p.directCaddyCpuUs)} µs/req (Caddy)`,
      `  through opsctl-port (signed) ${f(p.proxiedRps).padStart(8)} req/s  p50 ${f(p.proxiedP50)} ms  server CPU ${f(p.proxiedPortCpuUs + p.proxiedCaddyCpuUs)} µs/req (opsctl-port ${f(p.proxiedPortCpuUs)} + Caddy ${f(p.proxiedCaddyCpuUs)})`,
      `  opsctl-port, signed GET /v1/whoami (no upstream): ${f(p.whoamiPortCpuUs)} µs/req → the http adaptor adds ${f(p.proxiedPortCpuUs - p.whoamiPortCpuUs)} µs/req`,
      `  CPU per request, proxied vs straight: ${p.cpuRatio.toFixed(2)}× (rounds: ${perRound.map((x) => x.cpuRatio.toFixed(2)).join(', ')})`,
      oneShot
        ? `one-shot: opsctl call caddy.config ${f(oneShot.opsctlMs)} ms vs ssh -J … curl --unix-socket ${f(oneShot.sshCurlMs)} ms (median of ${runs}) → ${oneShot.ratio.toFixed(2)}×   goal ≤ 1.0×   ${oneShot.ratio <= 1 ? 'ok' : 'MISSED'}`
        : `one-shot: skipped (${result.oneShot.skipped})`,
    ];
    const bad = perRound.flatMap((x) => [x.direct, x.proxied, x.whoami]).filter((x) => x.errors || x.ranOut);
    if (bad.length) lines.push(`  WARNING: ${bad.length} measurement(s) had non-200 answers or ran out of pre-signed requests`);
    process.stdout.write(lines.join('\n') + '\n');
    fs.writeFileSync(path.join(root, 'bench/sidecar.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    for (const s of started.reverse()) await Promise.resolve(s.stop()).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  await sidecarBench({ seconds: Number(arg('--seconds') ?? 5), rounds: Number(arg('--rounds') ?? 3), runs: Number(arg('--runs') ?? 11) });
}
