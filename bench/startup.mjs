// Start-up: `opsctl --help` and TAB (`opsctl __complete …`) against a bare
// `node -e 0`, as ratios measured in ONE run, cases alternated round robin.
// Each case runs with and without NODE_EXTRA_CA_CERTS (set in some
// sandboxes, it makes every node start read a CA bundle, which hides the
// CLI's own cost), and with and without a cached catalog of 50 service
// endpoints (the service commands, which --help lists and TAB completes).
// Wall time is the goal's measure; CPU time (user+sys of the process, read
// by a one-line preload at exit, in separate alternated runs) is printed
// too, as it moves less on a loaded machine.
//
//   node bench/startup.mjs [--runs N] [--warmup N]     (also part of npm run bench)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './measure.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'bin/opsctl.js');
const GOAL = 1.3;

/** A catalog of `n` service endpoints with typed params, as `opsctl endpoints` caches it. */
export function serviceCatalog(n = 50) {
  const nouns = ['lb', 'cache', 'search', 'orders', 'queue', 'users', 'billing', 'reports', 'index', 'backup'];
  const verbs = ['list', 'show', 'drain', 'enable', 'disable'];
  const endpoints = [];
  for (let i = 0; i < n; i++) {
    const noun = nouns[i % nouns.length];
    const verb = verbs[Math.floor(i / nouns.length) % verbs.length];
    endpoints.push({
      id: `${noun}.${verb}`, method: verb === 'list' || verb === 'show' ? 'GET' : 'POST', path: `/v1/${noun}/${verb}`,
      summary: `${verb} ${noun} (a service endpoint of the bench catalog)`, description: `What ${noun}.${verb} does, in a sentence or two of the service's own words.`,
      role: verb === 'list' || verb === 'show' ? 'viewer' : 'operator', destructive: verb === 'drain', job: false, scope: 'instance',
      params: {
        type: 'object',
        properties: {
          server: { type: 'string', enum: ['web1', 'web2', 'web3'], description: 'backend' },
          weight: { type: 'integer', minimum: 0, maximum: 256, description: 'weight' },
          force: { type: 'boolean', description: 'even when busy' },
          note: { type: 'string', description: 'free text' },
        },
        required: verb === 'list' ? [] : ['server'],
        additionalProperties: false,
      },
    });
  }
  return { updatedAt: new Date().toISOString(), service: 'bench-service', version: '1.0.0', endpoints };
}

/**
 * Measures the start-up cases; returns {cases, ratios} (medians, ratios to
 * node -e 0 in the same environment). `log` prints progress lines.
 */
export async function measureStartup({ runs = 31, warmup = 3 } = {}) {
  if (!fs.existsSync(path.join(root, 'dist/cli/start.cjs'))) throw new Error('dist/cli/start.cjs is missing: run npm run build');
  const { cacheFileText } = await import(pathToFileURL(path.join(root, 'dist/src/cli/service-commands/catalog-cache.js')).href);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-startup-'));
  const homes = {};
  for (const cached of [false, true]) {
    const dir = path.join(tmp, cached ? 'cached' : 'empty');
    fs.mkdirSync(path.join(dir, 'config', 'opsctl'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(dir, 'cache', 'opsctl'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'config', 'opsctl', 'config.yaml'), 'current-context: bench\ncontexts:\n  bench:\n    host:\n      - 127.0.0.1\n');
    fs.writeFileSync(path.join(dir, 'cache', 'opsctl', 'bench.json'), JSON.stringify({ updatedAt: new Date().toISOString(), values: { flags: ['maintenance_mode', 'discount_percent', 'max_page_size'] } }));
    // Written as opsctl writes it after `opsctl endpoints` (the built catalog-cache module).
    if (cached) fs.writeFileSync(path.join(dir, 'cache', 'opsctl', 'bench.catalog.json'), cacheFileText({ protocol: 1, ...serviceCatalog(50) }, new Set()), { mode: 0o600 });
    homes[cached ? 'cached' : 'empty'] = dir;
  }
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const envs = [['without NODE_EXTRA_CA_CERTS', undefined], ...(ca ? [['with NODE_EXTRA_CA_CERTS', ca]] : [])];
  const node = process.execPath;
  // The CPU runs preload this (every case alike, node -e 0 too): it writes the process's own user+sys µs at exit.
  const rusage = path.join(tmp, 'rusage.cjs');
  fs.writeFileSync(rusage, "process.on('exit', () => { const r = process.resourceUsage(); require('fs').writeSync(3, String(r.userCPUTime + r.systemCPUTime)); });\n");
  const cases = [];
  for (const [envName, caFile] of envs) {
    for (const [home, homeDir] of Object.entries(homes)) {
      const env = {
        PATH: process.env.PATH, HOME: homeDir, XDG_CONFIG_HOME: path.join(homeDir, 'config'), XDG_CACHE_HOME: path.join(homeDir, 'cache'), NO_COLOR: '1',
        ...(caFile ? { NODE_EXTRA_CA_CERTS: caFile } : {}),
      };
      const add = (name, args, expect) => cases.push({ env: envName, home, name, args, procEnv: env, expect, wall: [], cpu: [] });
      if (home === 'empty') add('node -e 0', ['-e', '0']);
      add('opsctl --help', [CLI, '--help'], home === 'cached' ? /bench-service endpoints/ : /Service commands: a service's own endpoints/);
      add('TAB: opsctl flags get <TAB>', [CLI, '__complete', 'bash', '--', 'opsctl', 'flags', 'get', ''], /maintenance_mode/);
      if (home === 'cached') add('TAB: opsctl lb drain --server <TAB>', [CLI, '__complete', 'bash', '--', 'opsctl', 'lb', 'drain', '--server', ''], /web1/);
    }
  }
  const once = (c, measure) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(node, c.args, { cwd: root, env: c.procEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 || (c.expect && !c.expect.test(r.stdout))) throw new Error(`${c.name}: exit ${r.status}: ${r.stderr.slice(0, 300)}${r.stdout.slice(0, 300)}`);
    if (measure) c.wall.push(ms);
    if (measure) {
      const t = spawnSync(node, ['-r', rusage, ...c.args], { cwd: root, env: c.procEnv, encoding: 'utf8', stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      c.cpu.push(Number(t.output[3]) / 1000);
    }
  };
  try {
    for (let i = 0; i < warmup; i++) for (const c of cases) once(c, false);
    for (let i = 0; i < runs; i++) for (const c of cases) once(c, true);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = cases.map((c) => ({ env: c.env, home: c.home, name: c.name, medianMs: median(c.wall), cpuMs: c.cpu.length ? median(c.cpu) : undefined, samplesMs: c.wall.map((x) => Math.round(x * 10) / 10) }));
  const ratios = [];
  for (const [envName] of envs) {
    const base = out.find((c) => c.env === envName && c.name === 'node -e 0');
    for (const c of out.filter((x) => x.env === envName && x.name !== 'node -e 0')) {
      ratios.push({
        what: `${c.name} (${c.home === 'cached' ? '50 service endpoints cached' : 'no catalog cached'}) vs node -e 0, ${envName}`,
        ratio: c.medianMs / base.medianMs,
        cpuRatio: c.cpuMs !== undefined && base.cpuMs ? c.cpuMs / base.cpuMs : undefined,
        goal: GOAL,
        ok: c.medianMs / base.medianMs <= GOAL,
      });
    }
  }
  return { cases: out, ratios, loadAverage: os.loadavg(), runs, warmup };
}

export function startupReport(r) {
  const pad = (s, n) => String(s).padEnd(n);
  const lines = [`start-up: median of ${r.runs} runs per case, alternated (load average ${r.loadAverage.map((x) => x.toFixed(1)).join(' ')})`];
  lines.push(`${pad('case', 44)}${pad('env', 30)}${pad('home', 8)}${pad('wall ms', 10)}cpu ms`);
  for (const c of r.cases) lines.push(`${pad(c.name, 44)}${pad(c.env, 30)}${pad(c.home, 8)}${pad(c.medianMs.toFixed(1), 10)}${c.cpuMs !== undefined ? c.cpuMs.toFixed(1) : ''}`);
  lines.push('');
  for (const x of r.ratios) lines.push(`${pad(x.what, 118)}${pad(x.ratio.toFixed(2) + '×', 7)}${x.cpuRatio !== undefined ? `(cpu ${x.cpuRatio.toFixed(2)}×) ` : ''}≤ ${x.goal}× ${x.ok ? 'ok' : 'MISSED'}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const r = await measureStartup({ runs: arg('--runs', 31), warmup: arg('--warmup', 3) });
  process.stdout.write(startupReport(r) + '\n');
  fs.writeFileSync(path.join(root, 'bench/results-startup.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...r }, null, 2) + '\n');
}
