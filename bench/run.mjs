// npm run bench: whole-process timings as ratios measured in ONE run, so
// machine speed and load cancel out. Every case runs N times, round robin
// (after warm-up rounds), and the median is reported.
//
//   startup      node -e 0  vs  opsctl --help  vs  opsctl __complete (TAB), with and
//                without NODE_EXTRA_CA_CERTS and a cached 50-endpoint catalog
//                (bench/startup.mjs, also runnable alone)
//   one-shot     opsctl health through one bastion (real sshd bastion + sshd
//                service host + demo service)  vs  OpenSSH to the same port
//   reuse        opsctl health through a persisted connection (persist: 10m)
//                vs  ssh -S through an OpenSSH ControlMaster, both running curl's job
//   import cost  import('got')  vs  import('node:http')
//
// Results: a table on stdout and bench/results.json. Not part of npm test.
//   node bench/run.mjs [--runs N] [--warmup N]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdMissing, startSshd } from '../test/helpers/sshd.ts';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { measureStartup, startupReport } from './startup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('--runs', 17);
const WARMUP = arg('--warmup', 3);
const CLI = path.join(root, 'bin/opsctl.js');
const node = process.execPath;

for (const f of ['dist/cli/main.js', 'dist/examples/demo-service/main.js']) {
  if (!fs.existsSync(path.join(root, f))) {
    process.stderr.write(`bench: ${f} is missing; run npm run build (npm run bench builds first)\n`);
    process.exit(1);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-'));
fs.chmodSync(tmp, 0o700);
// Real sshd and the demo service come from the test harness (test/helpers),
// each stopped by PID at the end; npm run bench runs this file under tsx.
const started = [];
const cleanup = async () => {
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup().finally(() => process.exit(130));
});

// A private HOME: the user's ssh config, agent and opsctl config stay out of it.
const env = {
  PATH: process.env.PATH,
  HOME: path.join(tmp, 'home'),
  XDG_CONFIG_HOME: path.join(tmp, 'config'),
  XDG_CACHE_HOME: path.join(tmp, 'cache'),
  XDG_RUNTIME_DIR: path.join(tmp, 'run'),
  NO_COLOR: '1',
  ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
};
for (const d of ['home', 'config/opsctl', 'cache/opsctl', 'run']) fs.mkdirSync(path.join(tmp, d), { recursive: true, mode: 0o700 });

// A populated completion cache for the current context, as after `opsctl flags list`.
fs.writeFileSync(path.join(tmp, 'config/opsctl/config.yaml'), 'current-context: bench\ncontexts:\n  bench:\n    host:\n      - 127.0.0.1\n');
fs.writeFileSync(
  path.join(tmp, 'cache/opsctl/bench.json'),
  JSON.stringify({ updatedAt: new Date().toISOString(), values: { flags: ['maintenance_mode', 'discount_percent', 'max_page_size'] } }),
);

const which = (bin) => !spawnSync(bin, ['-V'], { stdio: 'ignore' }).error;
const haveSsh = !sshdMissing() && which('ssh');

const cases = [];
const addCase = (name, cmd, args, opts = {}) => cases.push({ name, cmd, args, input: opts.input, expect: opts.expect ?? 0, samples: [] });

// Start-up (--help, TAB) has its own cases and environments: bench/startup.mjs, run first.
const startup = await measureStartup({ runs: RUNS, warmup: WARMUP });
addCase("import('node:http')", node, ['--input-type=module', '-e', "await import('node:http')"]);
addCase("import('got')", node, ['--input-type=module', '-e', "await import('got')"]);

let sshNote = '';
if (haveSsh) {
  const key = path.join(tmp, 'operator');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
  const pub = fs.readFileSync(`${key}.pub`, 'utf8');
  const user = os.userInfo().username;
  const host = await startSshd({ authorizedKeys: [pub] });
  started.push(host);
  const bastion = await startSshd({ authorizedKeys: [pub] });
  started.push(bastion);
  const service = await startDemoService({ authorizedKeys: `role="viewer" ${pub}` });
  started.push(service);
  const internalPort = service.internal.port;
  const knownHosts = path.join(tmp, 'known_hosts');
  fs.writeFileSync(knownHosts, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
  addCase('opsctl health (1 bastion)', node, [
    CLI, '--bastion', `${user}@127.0.0.1:${bastion.port}`, '--host', `${user}@127.0.0.1:${host.port}`,
    '--port', String(internalPort), '--identity', key, '--known-hosts', knownHosts, 'health', '-o', 'json',
  ]);
  // OpenSSH with the same route and the same kind of channel (direct-tcpip via
  // ssh -W), sending an unsigned GET that the port answers with 401: the
  // transport cost is what is compared.
  const sshConfig = path.join(tmp, 'ssh_config');
  fs.writeFileSync(
    sshConfig,
    [
      'Host bench-bastion', '  HostName 127.0.0.1', `  Port ${bastion.port}`,
      'Host bench-host', '  HostName 127.0.0.1', `  Port ${host.port}`, '  ProxyJump bench-bastion',
      'Host *', `  User ${user}`, `  IdentityFile ${key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR', '',
    ].join('\n'),
  );
  const request = `GET /v1/health HTTP/1.0\r\nHost: internal\r\n\r\n`;
  addCase('ssh -J bastion -W 127.0.0.1:PORT host', 'ssh', ['-F', sshConfig, '-W', `127.0.0.1:${internalPort}`, 'bench-host'], { input: request });
  const curl = `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${internalPort}/v1/health`;
  {
    // The classic one-liner: a remote command on the service host.
    addCase('ssh -J bastion host curl …', 'ssh', ['-F', sshConfig, 'bench-host', curl]);
  }

  // Connection reuse on both sides. OpenSSH: a ControlMaster held open by
  // `ssh -M -f -N`, each run a `ssh -S` through it. opsctl: a context with
  // `persist: 10m`, whose first command started the background holder.
  const control = path.join(tmp, 'ctl.sock');
  const master = spawnSync('ssh', ['-F', sshConfig, '-M', '-S', control, '-f', '-N', 'bench-host'], { env, stdio: 'ignore', timeout: 30_000 });
  if (master.status === 0) {
    started.push({ stop: async () => void spawnSync('ssh', ['-F', sshConfig, '-S', control, '-O', 'exit', 'bench-host'], { env, stdio: 'ignore' }) });
    addCase('ssh -S master host curl …', 'ssh', ['-F', sshConfig, '-S', control, 'bench-host', curl]);
  } else {
    sshNote = 'ssh -M (ControlMaster) could not start: the reuse comparison was skipped';
  }
  fs.appendFileSync(
    path.join(tmp, 'config/opsctl/config.yaml'),
    [
      '  held:',
      '    bastion:', `      - ${user}@127.0.0.1:${bastion.port}`,
      '    host:', `      - ${user}@127.0.0.1:${host.port}`,
      `    port: ${internalPort}`, `    identity: ${key}`, `    known-hosts: ${knownHosts}`, '    persist: 10m', '',
    ].join('\n'),
  );
  const warm = spawnSync(node, [CLI, '--context', 'held', 'health', '-o', 'json'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  if (warm.status !== 0) throw new Error(`bench: the persisted context did not work: ${warm.stderr}`);
  started.push({ stop: async () => void spawnSync(node, [CLI, '--context', 'held', 'tunnel', '--stop'], { cwd: root, env, stdio: 'ignore' }) });
  addCase('opsctl health (persisted connection)', node, [CLI, '--context', 'held', 'health', '-o', 'json']);
} else {
  sshNote = 'sshd/ssh not installed: the one-shot comparison was skipped';
}

function once(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd: root, env, input: c.input, stdio: [c.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.expect) throw new Error(`${c.name}: exit ${r.status}: ${(r.stderr || '').slice(0, 400)}`);
  return ms;
}

try {
  for (let i = 0; i < WARMUP; i++) for (const c of cases) once(c);
  for (let i = 0; i < RUNS; i++) for (const c of cases) c.samples.push(once(c));
} catch (e) {
  await cleanup();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
}
await cleanup();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const med = Object.fromEntries(cases.map((c) => [c.name, median(c.samples)]));
const ratio = (a, b) => (med[a] !== undefined && med[b] !== undefined ? med[a] / med[b] : undefined);

const comparisons = [
  { what: 'opsctl health vs ssh -W (same route, direct-tcpip)', ratio: ratio('opsctl health (1 bastion)', 'ssh -J bastion -W 127.0.0.1:PORT host'), goal: 1, aim: 0.7 },
  { what: 'opsctl health vs ssh -J … curl', ratio: ratio('opsctl health (1 bastion)', 'ssh -J bastion host curl …'), goal: 0.7 },
  { what: 'opsctl health, persisted vs ssh -S master … curl', ratio: ratio('opsctl health (persisted connection)', 'ssh -S master host curl …'), goal: 1.5 },
].filter((c) => c.ratio !== undefined);
const gotCost = med["import('got')"] - med["import('node:http')"];

const pad = (s, n) => String(s).padEnd(n);
const out = [];
out.push(`opsctl bench: median of ${RUNS} runs each (after ${WARMUP} warm-up rounds), round robin, one process per run`);
out.push(`node ${process.version}, ${os.cpus().length} CPUs${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS set (slows every node start)' : ''}`);
out.push('');
out.push(`${pad('case', 44)}${pad('median ms', 12)}min–max ms`);
for (const c of cases) out.push(`${pad(c.name, 44)}${pad(med[c.name].toFixed(1), 12)}${Math.min(...c.samples).toFixed(0)}–${Math.max(...c.samples).toFixed(0)}`);
out.push('');
out.push(`${pad('ratio', 52)}${pad('value', 8)}${pad('goal', 8)}`);
for (const c of comparisons) {
  const ok = c.ratio <= c.goal;
  out.push(`${pad(c.what, 52)}${pad(c.ratio.toFixed(2) + '×', 8)}${pad(`≤ ${c.goal}×`, 8)}${ok ? 'ok' : 'MISSED'}${c.aim ? ` (aim ${c.aim}×)` : ''}`);
}
out.push('');
out.push(startupReport(startup));
out.push('');
out.push(`import('got') costs ${gotCost.toFixed(1)} ms more than import('node:http') per process (why the hot path uses node:http)`);
if (sshNote) out.push(sshNote);
process.stdout.write(out.join('\n') + '\n');

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
  runs: RUNS,
  warmup: WARMUP,
  cases: cases.map((c) => ({ name: c.name, medianMs: med[c.name], samplesMs: c.samples.map((x) => Math.round(x * 10) / 10) })),
  ratios: [...startup.ratios, ...comparisons.map((c) => ({ what: c.what, ratio: c.ratio, goal: c.goal, ok: c.ratio <= c.goal }))],
  startup: { cases: startup.cases, loadAverage: startup.loadAverage },
  gotImportExtraMs: gotCost,
  ...(sshNote ? { note: sshNote } : {}),
};
fs.writeFileSync(path.join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');

// The internal port's throughput against bare node:http (bench/port-throughput.mjs).
await (await import('./port-throughput.mjs')).portThroughput();

// Fan-out over a fleet of hosts in network namespaces (bench/fan-out.mjs; needs root).
await (await import('./fan-out.mjs')).fanOut();
