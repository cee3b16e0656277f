/**
 * `opsctl --help` (and command help, and completion) must never load the
 * heavy modules: ssh2, got, @inquirer/prompts, the keychain binding,
 * prom-client, the server's database modules. A module-resolution hook in a
 * real child process records every module URL that gets loaded; checked for
 * the TypeScript sources and, when built, for the shipped bundle.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HEAVY = ['ssh2', 'cpu-features', 'got', '@inquirer', '@napi-rs/keyring', 'prom-client', 'better-sqlite3', 'umzug', 'ajv'];
const HELP_RUNS = [
  ['--help'],
  ['migrate', '--help'],
  ['flags', 'set', '--help'],
  ['tasks', 'run', '--help'],
  ['keys', 'generate', '--help'],
  ['call', '--help'],
  ['tunnel', '--help'],
  ['jobs', 'logs', '--help'],
  ['__complete', 'bash', '--', 'opsctl', 'flags', 'get', ''],
  // The context's hosts come from the config file (here in a style only the YAML parser reads), never a connection.
  ['__complete', 'bash', '--', 'opsctl', 'health', '--host', ''],
  // Service commands, from the catalog cached for the context (never a connection).
  ['lb', 'weight', '--help'],
  ['__complete', 'bash', '--', 'opsctl', 'lb', 'weight', '--server', ''],
];

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-lazy-'));
  fs.writeFileSync(path.join(dir, 'hooks.mjs'), [
    "import fs from 'node:fs';",
    'let log;',
    'export function initialize(data) { log = data.log; }',
    'export async function resolve(specifier, context, next) {',
    '  const r = await next(specifier, context);',
    "  fs.appendFileSync(log, r.url + '\\n');",
    '  return r;',
    '}',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'register.mjs'), [
    "import { register } from 'node:module';",
    `register(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)}, { data: { log: process.env.PROBE_LOG } });`,
  ].join('\n'));
  // Runs main(argv) with throwaway streams and an empty HOME, then exits.
  fs.writeFileSync(path.join(dir, 'probe.mjs'), [
    "import { Writable, PassThrough } from 'node:stream';",
    'const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });',
    'const argv = JSON.parse(process.env.PROBE_ARGV);',
    'if (process.env.PROBE_SANITY) await import(process.env.PROBE_SANITY);',
    'const { main } = await import(process.env.PROBE_MAIN);',
    'const code = await main(argv, { stdin: new PassThrough(), stdout: sink(), stderr: sink(), env: { HOME: process.env.PROBE_HOME, XDG_CONFIG_HOME: process.env.PROBE_HOME, XDG_CACHE_HOME: process.env.PROBE_HOME } });',
    'process.exit(code);',
  ].join('\n'));
  // For the binary's CommonJS start-up path: every file require() loaded.
  fs.writeFileSync(path.join(dir, 'cjs-probe.cjs'), "process.on('exit', () => require('node:fs').appendFileSync(process.env.PROBE_LOG, Object.keys(require.cache).join('\\n') + '\\n'));\n");
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));
before(() => {
  fs.mkdirSync(path.join(dir, 'opsctl'));
  fs.writeFileSync(path.join(dir, 'opsctl', 'config.yaml'), '{"current-context": "fleet", "contexts": {"fleet": {"bastion": "b", "host": ["node0", "node1"]}}}\n');
  fs.writeFileSync(path.join(dir, 'opsctl', 'fleet.catalog.json'), JSON.stringify({
    updatedAt: new Date().toISOString(), service: 'lb-service', version: '1',
    endpoints: [{ id: 'lb.weight', method: 'POST', path: '/v1/lb/weight', summary: 'Set a weight', description: '', role: 'operator', destructive: true, job: false, scope: 'instance',
      params: { type: 'object', properties: { server: { type: 'string', enum: ['web1', 'web2'] }, weight: { type: 'integer' } }, required: ['server'], additionalProperties: false } }],
  }));
});

function loaded(mainUrl: string, argv: string[], opts: { tsx: boolean; sanity?: boolean }): string[] {
  const log = path.join(dir, `log-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(log, '');
  const args = [...(opts.tsx ? ['--import', 'tsx'] : []), '--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(dir, 'probe.mjs')];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, PROBE_LOG: log, PROBE_ARGV: JSON.stringify(argv), PROBE_MAIN: mainUrl, PROBE_HOME: dir, ...(opts.sanity ? { PROBE_SANITY: pathToFileURL(createRequire(path.join(root, 'package.json')).resolve('ssh2')).href } : {}) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

function heavyIn(urls: string[]): string[] {
  return urls.filter((u) => HEAVY.some((m) => u.includes(`/node_modules/${m}/`)));
}

test('the probe sees heavy modules when they are loaded', () => {
  const urls = loaded(pathToFileURL(path.join(root, 'src/cli/main.ts')).href, ['--help'], { tsx: true, sanity: true });
  assert.ok(heavyIn(urls).some((u) => u.includes('/node_modules/ssh2/')), 'ssh2 recorded');
});

test('help and completion load none of the heavy modules (TypeScript sources)', () => {
  const main = pathToFileURL(path.join(root, 'src/cli/main.ts')).href;
  for (const argv of HELP_RUNS) {
    const urls = loaded(main, argv, { tsx: true });
    assert.ok(urls.some((u) => u.includes('/src/cli/commands/migrate/up.ts')), 'the command tree was built');
    assert.deepEqual(heavyIn(urls), [], `opsctl ${argv.join(' ')} loaded heavy modules`);
  }
});

const bundle = path.join(root, 'dist/cli/main.js');
/** The bundle carries ssh2 in a chunk of its own (scripts/build.mjs): known by ssh2's identification string. */
const SSH2_MARK = 'SSH-2.0-ssh2js';
const bundledSsh2 = (urls: string[]) =>
  urls.filter((u) => u.startsWith(pathToFileURL(path.join(root, 'dist/cli/')).href) && fs.readFileSync(fileURLToPath(u), 'utf8').includes(SSH2_MARK));

test('help and completion load none of the heavy modules (the built bundle)', { skip: fs.existsSync(bundle) ? false : 'dist/cli/main.js not built (npm test builds it)' }, () => {
  const chunks = fs.readdirSync(path.join(root, 'dist/cli')).filter((f) => fs.readFileSync(path.join(root, 'dist/cli', f), 'utf8').includes(SSH2_MARK));
  assert.equal(chunks.length, 1, `ssh2 is bundled in one chunk: ${chunks.join(', ')}`);
  for (const argv of HELP_RUNS) {
    const urls = loaded(pathToFileURL(bundle).href, argv, { tsx: false });
    assert.deepEqual(heavyIn(urls), [], `opsctl ${argv.join(' ')} loaded heavy modules`);
    assert.deepEqual(bundledSsh2(urls), [], `opsctl ${argv.join(' ')} loaded the bundled ssh2`);
  }
});

const start = path.join(root, 'dist/cli/start.cjs');
test('the binary\'s start-up path answers --help and TAB without commander, the CLI bundle or a heavy module', { skip: fs.existsSync(start) ? false : 'dist/cli/start.cjs not built (npm test builds it)' }, () => {
  const runs = [['--help'], ['migrate', '--help'], ['help', 'flags', 'set'], ['__complete', 'bash', '--', 'opsctl', 'fl'], ['__complete', 'zsh', '--', 'opsctl', 'lb', 'weight', '--server', '']];
  // Node's own modules loaded, written at exit (process.moduleLoadList); the probes load some themselves.
  fs.writeFileSync(path.join(dir, 'builtins-probe.cjs'), "process.on('exit', () => require('fs').writeFileSync(process.env.PROBE_LOG + '.builtins', process.moduleLoadList.join('\\n')));\n");
  const probes = ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, '-r', path.join(dir, 'cjs-probe.cjs'), '-r', path.join(dir, 'builtins-probe.cjs')];
  const builtinsOf = (log: string) => fs.readFileSync(`${log}.builtins`, 'utf8').split('\n');
  const baseLog = path.join(dir, 'start-baseline');
  fs.writeFileSync(baseLog, '');
  assert.equal(spawnSync(process.execPath, [...probes, '-e', '0'], { env: { PATH: process.env.PATH, PROBE_LOG: baseLog } }).status, 0);
  const baseline = new Set(builtinsOf(baseLog));
  // The code caches written first (the run that writes one warms the service-command code after its answer).
  for (const argv of [['--help'], ['__complete', 'bash', '--', 'opsctl', '']]) {
    assert.equal(spawnSync(process.execPath, [path.join(root, 'bin/opsctl.js'), ...argv], { cwd: root, env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir } }).status, 0);
  }
  for (const argv of runs) {
    const log = path.join(dir, `start-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(log, '');
    const r = spawnSync(process.execPath, [...probes, path.join(root, 'bin/opsctl.js'), ...argv], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir, PROBE_LOG: log },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0, argv.join(' '));
    const loadedFiles = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    // start.cjs itself is compiled by bin/load-start.js (vm.Script, for its code cache), not require()d.
    assert.ok(loadedFiles.some((f) => f.endsWith('/bin/load-start.js')), `${argv.join(' ')}: answered by the start-up path`);
    assert.deepEqual(loadedFiles.filter((f) => f.includes('/dist/cli/main.js') || /\/dist\/cli\/chunk-/.test(f) || f.includes('/node_modules/commander/')), [], `${argv.join(' ')}: no command tree`);
    assert.deepEqual(heavyIn(loadedFiles.map((f) => f.replace(/^file:\/\//, ''))), [], `${argv.join(' ')}: no heavy module`);
    // Node's own modules too: crypto brings the whole stream stack (a named import of it on the path is called through, lazily).
    assert.deepEqual(builtinsOf(log).filter((m) => !baseline.has(m) && /^NativeModule (crypto|stream|net|tls|http)$/.test(m)), [], `${argv.join(' ')}: no crypto, stream or socket module`);
  }
});
