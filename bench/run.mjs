// npm run bench: whole-process timings as ratios measured in ONE run, so
// machine speed and load cancel out as far as they can. Every case runs N
// times, round robin (after warm-up rounds), and the median is reported,
// with the CPU time (user + system, from /usr/bin/time) of each command
// beside its wall time — of the command's own processes only: what an
// OpenSSH command makes sshd and the remote curl do is not in it — and the
// load average before and after.
//
//   startup   node -e 0  vs  opsctl --help  vs  opsctl __complete (TAB), with and
//             without NODE_EXTRA_CA_CERTS and a cached 50-endpoint catalog
//             (bench/startup.mjs, also runnable alone)
//   import    import('got')  vs  import('node:http')
//   oneshot   opsctl health through one bastion, with a context made by
//             `opsctl context add` (what a user runs)  vs  `ssh -J bastion
//             host curl …` to the same port (real sshd bastion and host)
//   reuse     opsctl health through a held connection (a context with
//             `persist: 10m`)  vs  `ssh -S` through an OpenSSH ControlMaster,
//             both running curl's job
//   port      the internal port against its floor, and the service first
//             (bench/port-throughput.mjs)
//   fanout    a fleet run against OpenSSH loops (bench/fan-out.mjs; root)
//   sidecar   opsctl-port in front of Caddy's admin API: a proxied GET vs
//             straight to its socket (CPU per request), and `opsctl call
//             caddy.config` vs `ssh -J … curl --unix-socket` (bench/sidecar.mjs)
//
//   npm run bench -- [--only startup,oneshot,reuse,port,…] [--runs N] [--warmup N]
//                    [--remote-user NAME] [--cpu-prof DIR]   (profiles one more run of
//                    each opsctl case and prints its self time by function)
//
// The OpenSSH side logs in as a user whose shell starts clean, as a user's
// own account does: `ssh host cmd` runs `$SHELL -c cmd`, and bash then
// sources ~/.bashrc, so a heavy one (this CI machine's root account runs
// `pyenv init` there: seconds under load) was timed as part of every OpenSSH
// command and made opsctl look 2× better than it is. As root the bench uses
// (and creates if needed) the account `opsctl-bench` with Debian's default
// dotfiles; `--remote-user` names another. The start of that shell is
// measured and printed (`ssh -S … true`).
//
// Results: tables on stdout, bench/results.json (and the parts' own files).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdMissing, startSshd } from '../test/helpers/sshd.ts';
import { startDemoService } from '../test/helpers/demo-service.ts';
import { formatSummary, summariseProfile } from './cpu-profile-summary.mjs';
import { measureStartup, startupReport } from './startup.mjs';
import { median } from './measure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const RUNS = Number(opt('--runs', 17));
const WARMUP = Number(opt('--warmup', 3));
const PARTS = ['startup', 'import', 'oneshot', 'reuse', 'port', 'fanout', 'sidecar'];
const only = new Set((opt('--only', PARTS.join(','))).split(',').map((s) => s.trim()).filter(Boolean));
for (const p of only) {
  if (!PARTS.includes(p)) {
    process.stderr.write(`bench: unknown part "${p}" (parts: ${PARTS.join(', ')})\n`);
    process.exit(2);
  }
}
const CLI = path.join(root, 'bin/opsctl.js');
const node = process.execPath;
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

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
  XDG_STATE_HOME: path.join(tmp, 'state'),
  XDG_RUNTIME_DIR: path.join(tmp, 'run'),
  NO_COLOR: '1',
  ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
};
for (const d of ['home/.ssh', 'config/opsctl', 'cache/opsctl', 'state', 'run']) fs.mkdirSync(path.join(tmp, d), { recursive: true, mode: 0o700 });

const cases = [];
const addCase = (part, name, cmd, args, opts = {}) => cases.push({ part, name, cmd, args, input: opts.input, expect: opts.expect ?? 0, samples: [], cpu: [] });
const notes = [];
const loadBefore = os.loadavg();

// Start-up (--help, TAB) has its own cases and environments (bench/startup.mjs), run first.
const startup = only.has('startup') ? await measureStartup({ runs: RUNS, warmup: WARMUP }) : undefined;
if (only.has('import')) {
  addCase('import', "import('node:http')", node, ['--input-type=module', '-e', "await import('node:http')"]);
  addCase('import', "import('got')", node, ['--input-type=module', '-e', "await import('got')"]);
}

/** The account the OpenSSH side (and opsctl) log in as on the bastion and the host: see the top of this file. */
function remoteUser() {
  const named = opt('--remote-user');
  if (named) return named;
  const me = os.userInfo().username;
  if (process.getuid?.() !== 0) return me;
  const name = 'opsctl-bench';
  if (spawnSync('id', [name], { stdio: 'ignore' }).status !== 0) {
    const r = spawnSync('useradd', ['--create-home', '--shell', '/bin/bash', '--comment', 'opsctl bench (clean dotfiles)', name], { encoding: 'utf8' });
    if (r.status !== 0) {
      notes.push(`could not create the clean account ${name} (${(r.stderr || '').trim()}); the OpenSSH side logs in as ${me}, whose shell start counts`);
      return me;
    }
  }
  // useradd leaves the password locked ("!"), and sshd without PAM refuses a
  // locked account even for a key; "*" allows no password either, but is not "locked".
  spawnSync('usermod', ['-p', '*', name], { stdio: 'ignore' });
  return name;
}

if (only.has('oneshot') || only.has('reuse')) {
  if (sshdMissing() || spawnSync('ssh', ['-V'], { stdio: 'ignore' }).error) {
    notes.push('sshd/ssh not installed: the one-shot and reuse comparisons were skipped');
  } else {
    const key = path.join(tmp, 'home/.ssh/id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
    const pub = fs.readFileSync(`${key}.pub`, 'utf8');
    const user = remoteUser();
    const host = await startSshd({ authorizedKeys: [pub] });
    started.push(host);
    const bastion = await startSshd({ authorizedKeys: [pub] });
    started.push(bastion);
    // sshd reads authorized_keys as the account logging in: let another account read them.
    for (const s of [host, bastion]) {
      fs.chmodSync(s.dir, 0o755);
      fs.chmodSync(path.join(s.dir, 'authorized_keys'), 0o644);
    }
    const service = await startDemoService({ authorizedKeys: `role="viewer" ${pub}` });
    started.push(service);
    const internalPort = service.internal.port;
    const knownHosts = path.join(tmp, 'home/.ssh/known_hosts');
    fs.writeFileSync(knownHosts, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
    const sshConfig = path.join(tmp, 'home/.ssh/config');
    fs.writeFileSync(sshConfig, [
      'Host bench-bastion', '  HostName 127.0.0.1', `  Port ${bastion.port}`,
      'Host bench-host', '  HostName 127.0.0.1', `  Port ${host.port}`, '  ProxyJump bench-bastion',
      'Host *', `  User ${user}`, `  IdentityFile ${key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR', '',
    ].join('\n'), { mode: 0o600 });
    const curl = `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${internalPort}/v1/health`;
    // What a user runs: contexts made by `opsctl context add` (config in XDG_CONFIG_HOME).
    const contextAdd = (name, extra = []) => {
      const r = spawnSync(node, [CLI, 'context', 'add', name, '--bastion', `${user}@127.0.0.1:${bastion.port}`, '--host', `${user}@127.0.0.1:${host.port}`,
        '--port', String(internalPort), '--identity', key, '--known-hosts', knownHosts, ...extra], { cwd: root, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench: opsctl context add ${name}: ${r.stderr}`);
    };
    const configFile = path.join(tmp, 'config/opsctl/config.yaml');
    if (only.has('oneshot')) {
      // --no-use: each case names its context (--context).
      contextAdd('plain', ['--no-use']);
      addCase('oneshot', 'opsctl health (context add)', node, [CLI, '--context', 'plain', 'health', '-o', 'json']);
      addCase('oneshot', 'ssh -J bastion host curl …', 'ssh', ['-F', sshConfig, 'bench-host', curl]);
      // The transport alone: the same route and kind of channel (direct-tcpip via
      // ssh -W), an unsigned GET that the port answers with 401.
      addCase('oneshot', 'ssh -J bastion -W 127.0.0.1:PORT host', 'ssh', ['-F', sshConfig, '-W', `127.0.0.1:${internalPort}`, 'bench-host'], { input: 'GET /v1/health HTTP/1.0\r\nHost: internal\r\n\r\n' });
    }
    if (only.has('reuse')) {
      const control = path.join(tmp, 'ctl.sock');
      const master = spawnSync('ssh', ['-F', sshConfig, '-M', '-S', control, '-f', '-N', 'bench-host'], { env, stdio: 'ignore', timeout: 30_000 });
      if (master.status === 0) {
        started.push({ stop: async () => void spawnSync('ssh', ['-F', sshConfig, '-S', control, '-O', 'exit', 'bench-host'], { env, stdio: 'ignore' }) });
        addCase('reuse', 'ssh -S master host curl …', 'ssh', ['-F', sshConfig, '-S', control, 'bench-host', curl]);
        // How long the remote account's shell takes to start (it runs every OpenSSH command above).
        addCase('reuse', 'ssh -S master host true', 'ssh', ['-F', sshConfig, '-S', control, 'bench-host', 'true']);
      } else {
        notes.push('ssh -M (ControlMaster) could not start: the reuse comparison was skipped');
      }
      // `context add` has no persist option: ControlPersist is a line in the config file (README).
      contextAdd('held', ['--no-use']);
      fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace(/\n {2}held:\n/, '\n  held:\n    persist: 10m\n'));
      const warm = spawnSync(node, [CLI, '--context', 'held', 'health', '-o', 'json'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
      if (warm.status !== 0) throw new Error(`bench: the persisted context did not work: ${warm.stderr}`);
      started.push({ stop: async () => void spawnSync(node, [CLI, '--context', 'held', 'tunnel', '--stop'], { cwd: root, env, stdio: 'ignore' }) });
      addCase('reuse', 'opsctl health (held connection)', node, [CLI, '--context', 'held', 'health', '-o', 'json']);
      // What node itself costs to start here (the held command's floor).
      if (!cases.some((c) => c.name === 'node -e 0')) addCase('reuse', 'node -e 0', node, ['-e', '0']);
    }
  }
}

/** One run of a case: wall ms, and CPU ms (user + system of the command and its children) when /usr/bin/time is there. */
function once(c) {
  const cpuFile = path.join(tmp, 'cpu.txt');
  const [cmd, args] = TIME ? [TIME, ['-f', '%U %S', '-o', cpuFile, c.cmd, ...c.args]] : [c.cmd, c.args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, env, input: c.input, stdio: [c.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.expect) throw new Error(`${c.name}: exit ${r.status}: ${(r.stderr || '').slice(0, 400)}`);
  let cpu = NaN;
  if (TIME) {
    const [u, s] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpu = (u + s) * 1000;
  }
  return { ms, cpu };
}

try {
  for (let i = 0; i < WARMUP; i++) for (const c of cases) once(c);
  for (let i = 0; i < RUNS; i++) {
    for (const c of cases) {
      const { ms, cpu } = once(c);
      c.samples.push(ms);
      c.cpu.push(cpu);
    }
  }
  // --cpu-prof DIR: one more run of every opsctl case under node --cpu-prof,
  // its self time by function printed below the figures (what to cut next).
  const profDir = opt('--cpu-prof');
  if (profDir) {
    for (const c of cases.filter((x) => x.cmd === node && x.args[0] === CLI)) {
      const dir = path.resolve(profDir, c.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, ''));
      fs.mkdirSync(dir, { recursive: true });
      once({ ...c, args: ['--cpu-prof', '--cpu-prof-dir', dir, ...c.args] });
      const file = fs.readdirSync(dir).filter((n) => n.endsWith('.cpuprofile')).map((n) => path.join(dir, n)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      if (file) notes.push(`\n${c.name}: CPU profile ${file}\n${formatSummary(summariseProfile(file), 25)}`);
    }
  }
} catch (e) {
  await cleanup();
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
}
await cleanup();
const loadAfter = os.loadavg();

const med = Object.fromEntries(cases.map((c) => [c.name, median(c.samples)]));
const medCpu = Object.fromEntries(cases.map((c) => [c.name, median(c.cpu)]));
const ratio = (a, b, m = med) => (m[a] !== undefined && m[b] !== undefined ? m[a] / m[b] : undefined);

const comparisons = [
  { what: 'opsctl health (context) vs ssh -J … curl', a: 'opsctl health (context add)', b: 'ssh -J bastion host curl …', goal: 0.5 },
  { what: 'opsctl health (context) vs ssh -J -W (transport only)', a: 'opsctl health (context add)', b: 'ssh -J bastion -W 127.0.0.1:PORT host' },
  { what: 'opsctl health, held vs ssh -S master … curl', a: 'opsctl health (held connection)', b: 'ssh -S master host curl …', goal: 1.2 },
  // The held command's floor: no node process can start faster than this.
  { what: 'node -e 0 vs ssh -S master … curl (held floor)', a: 'node -e 0', b: 'ssh -S master host curl …' },
  { what: 'opsctl health, held vs node -e 0', a: 'opsctl health (held connection)', b: 'node -e 0' },
].map((c) => ({ ...c, ratio: ratio(c.a, c.b), cpuRatio: ratio(c.a, c.b, medCpu) })).filter((c) => c.ratio !== undefined && Number.isFinite(c.ratio));
const gotCost = med["import('got')"] - med["import('node:http')"];

const pad = (s, n) => String(s).padEnd(n);
const l = (a) => a.map((x) => x.toFixed(2)).join(' ');
const out = [];
out.push(`opsctl bench: median of ${RUNS} runs each (after ${WARMUP} warm-up rounds), round robin, one process per run; parts: ${[...only].join(', ')}`);
out.push(`node ${process.version}, ${os.cpus().length} CPUs, load average ${l(loadBefore)} before, ${l(loadAfter)} after${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS set (slows every node start)' : ''}`);
if (cases.length) {
  out.push('');
  out.push(`${pad('case', 44)}${pad('median ms', 12)}${pad('min–max ms', 14)}CPU ms (user+sys)`);
  for (const c of cases) out.push(`${pad(c.name, 44)}${pad(med[c.name].toFixed(1), 12)}${pad(`${Math.min(...c.samples).toFixed(0)}–${Math.max(...c.samples).toFixed(0)}`, 14)}${Number.isFinite(medCpu[c.name]) ? medCpu[c.name].toFixed(0) : '–'}`);
}
if (comparisons.length) {
  out.push('');
  out.push(`${pad('ratio', 56)}${pad('wall', 8)}${pad('CPU', 8)}${pad('goal', 8)}`);
  for (const c of comparisons) {
    const verdict = c.goal === undefined ? '' : c.ratio <= c.goal ? 'ok' : 'MISSED';
    out.push(`${pad(c.what, 56)}${pad(c.ratio.toFixed(2) + '×', 8)}${pad(Number.isFinite(c.cpuRatio) ? c.cpuRatio.toFixed(2) + '×' : '–', 8)}${pad(c.goal === undefined ? '' : `≤ ${c.goal}×`, 8)}${verdict}`);
  }
}
if (startup) out.push('', startupReport(startup));
if (Number.isFinite(gotCost)) out.push('', `import('got') costs ${gotCost.toFixed(1)} ms more than import('node:http') per process (why the hot path uses node:http)`);
for (const n of notes) out.push(n);
process.stdout.write(out.join('\n') + '\n');

if (cases.length || startup) {
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: { before: loadBefore, after: loadAfter },
    nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
    parts: [...only].filter((p) => ['startup', 'import', 'oneshot', 'reuse'].includes(p)),
    runs: RUNS,
    warmup: WARMUP,
    cases: cases.map((c) => ({ part: c.part, name: c.name, medianMs: med[c.name], medianCpuMs: medCpu[c.name], samplesMs: c.samples.map((x) => Math.round(x * 10) / 10), cpuMs: c.cpu.map((x) => Math.round(x)) })),
    ratios: [...(startup?.ratios ?? []), ...comparisons.map((c) => ({ what: c.what, ratio: c.ratio, cpuRatio: c.cpuRatio, goal: c.goal, ok: c.goal === undefined ? undefined : c.ratio <= c.goal }))],
    ...(startup ? { startup: { cases: startup.cases, loadAverage: startup.loadAverage } } : {}),
    ...(Number.isFinite(gotCost) ? { gotImportExtraMs: gotCost } : {}),
    ...(notes.length ? { notes } : {}),
  };
  fs.writeFileSync(path.join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');
}

// The internal port against its floor, and the service first (bench/port-throughput.mjs).
if (only.has('port')) await (await import('./port-throughput.mjs')).portThroughput();

// Fan-out over a fleet of hosts in network namespaces (bench/fan-out.mjs; needs root).
if (only.has('fanout')) await (await import('./fan-out.mjs')).fanOut();

// opsctl-port in front of Caddy's admin API (bench/sidecar.mjs; needs Debian's caddy).
if (only.has('sidecar')) await (await import('./sidecar.mjs')).sidecarBench();
