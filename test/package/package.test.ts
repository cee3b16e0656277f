/**
 * The package as a service team gets it (README, "Working on opsctl": what
 * the package ships): `npm pack`, then `npm install` of the tarball into an
 * empty project with npm's install scripts on. The install warns about
 * nothing and builds nothing natively; every export imports from ESM and
 * type-checks in a strict project without skipLibCheck (and without
 * @types/pg); opsctl/server/openfeature without its peer names the package to
 * install; the README's server program, as the packed README has it, runs
 * behind a real sshd and the installed `opsctl` uses it; every link of the
 * packed README resolves (a shipped file, or the repository).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { STRICT_TSCONFIG, tsPrograms } from '../helpers/doc-snippets.js';
import { exerciseReadmeServer } from '../helpers/readme-server.js';
import { requireSshd } from '../helpers/sshd.js';

const REPOSITORY = 'https://github.com/opsctl/opsctl';
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  scripts: Record<string, string>;
  repository?: { url?: string };
};

let dir: string;
let project: string;
let installed: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> };
let install: { ms: number; output: string };

/** Runs a command to its end (async, so the test runner's timers keep running). */
function sh(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** The version the repository itself uses of a package (so the cache has it: --prefer-offline). */
const repoVersion = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

before(async () => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-package-'));
  // dist/ is current (ensureBuilt): pack it as prepack would have built it.
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  packed = (JSON.parse(pack.stdout) as Array<typeof packed & { filename: string }>)[0]!;
  tarball = path.join(dir, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
  project = path.join(dir, 'service');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'orders', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const started = Date.now();
  // Install scripts on (no --ignore-scripts): what a service's CI does.
  const r = await sh(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
  install = { ms: Date.now() - started, output: r.out };
  assert.equal(r.code, 0, r.out);
  installed = path.join(project, 'node_modules', pkg.name);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the tarball: bin, the CLI bundle and the library; no demo, examples, CLI sources, source maps, metafile or build state', (t) => {
  const files = packed.files.map((f) => f.path);
  t.diagnostic(`tarball ${(packed.size / 1024).toFixed(0)} kB (unpacked ${(packed.unpackedSize / 1024).toFixed(0)} kB), ${packed.entryCount} files; install ${(install.ms / 1000).toFixed(1)} s`);
  const forbidden = files.filter((f) => /\.map$|^dist\/examples\/|^dist\/src\/demo\/|^dist\/src\/cli\/|meta\.json$|tsbuildinfo|build-stamp|^src\/|^test\/|^scripts\//.test(f));
  assert.deepEqual(forbidden, []);
  for (const target of Object.values(pkg.bin)) assert.ok(files.includes(target.replace(/^\.\//, '')), `bin ${target} is shipped`);
  for (const [sub, e] of Object.entries(pkg.exports)) {
    for (const f of [e.types, e.default]) assert.ok(files.includes(f.replace(/^\.\//, '')), `export ${sub}: ${f} is shipped`);
  }
  assert.ok(files.includes('dist/cli/main.js') && files.includes('README.md') && files.includes('man/opsctl.1'));
  // The licence package.json names travels with the code.
  assert.ok(files.includes('LICENSE'), 'LICENSE is shipped');
  // No install-time scripts: building happens before packing, never on a user's machine.
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts[s], undefined, `package.json has no "${s}" script`);
  assert.equal(pkg.repository?.url, `git+${REPOSITORY}.git`);
});

test('npm install of the tarball (scripts on): no warning, no native build, nothing the package does not need', () => {
  assert.doesNotMatch(install.output, /npm warn|npm WARN|gyp|node-gyp/i, install.output);
  const withScripts: string[] = [];
  const walk = (nm: string) => {
    if (!fs.existsSync(nm)) return;
    for (const e of fs.readdirSync(nm)) {
      if (e.startsWith('.')) continue;
      if (e.startsWith('@')) {
        walk(path.join(nm, e));
        continue;
      }
      const pj = path.join(nm, e, 'package.json');
      if (!fs.existsSync(pj)) continue;
      const scripts = (JSON.parse(fs.readFileSync(pj, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
      if (scripts.preinstall || scripts.install || scripts.postinstall || fs.existsSync(path.join(nm, e, 'binding.gyp'))) withScripts.push(e);
      walk(path.join(nm, e, 'node_modules'));
    }
  };
  walk(path.join(project, 'node_modules'));
  assert.deepEqual(withScripts, [], 'no installed package has an install script or a native build');
  for (const absent of ['ssh2', 'cpu-features', 'better-sqlite3', 'esbuild', 'umzug', '@types/pg']) {
    assert.equal(fs.existsSync(path.join(project, 'node_modules', absent)), false, `${absent} is not installed`);
  }
});

test('every bin runs from node_modules/.bin; opsctl/server/openfeature without its peer names the package to install', async () => {
  for (const name of Object.keys(pkg.bin)) {
    const r = await sh([path.join(project, 'node_modules/.bin', name), '--help'], project);
    assert.equal(r.code, 0, `${name} --help: ${r.out}`);
  }
  const v = await sh([path.join(project, 'node_modules/.bin/opsctl'), '--version'], project);
  assert.equal(v.out.trim(), pkg.version);
  const peer = await sh([process.execPath, '--input-type=module', '-e', "await import('opsctl/server/openfeature')"], project);
  assert.notEqual(peer.code, 0);
  assert.match(peer.out, /OpenFeatureSdkMissingError: opsctl\/server\/openfeature needs the OpenFeature server SDK, an optional peer dependency of opsctl: npm install @openfeature\/server-sdk/, peer.out);
});

test('the installed opsctl answers --help and TAB on its start-up path (start.cjs and its data are shipped; its code cache is written)', async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-package-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache'), NO_COLOR: '1' };
  const bin = path.join(project, 'node_modules/.bin/opsctl');
  const help = await sh([bin, '--help'], project, env);
  assert.equal(help.code, 0, help.out);
  assert.match(help.out, /^Usage: opsctl \[options\] \[command\]/);
  const tab = await sh([bin, '__complete', 'bash', '--', 'opsctl', 'fl'], project, env);
  assert.equal(tab.code, 0, tab.out);
  assert.match(tab.out, /^flags$/m);
  // bin/load-start.js writes a code cache only after start.cjs answered: the full CLI would leave none.
  const written = fs.readdirSync(path.join(home, 'cache/opsctl/v8')).sort();
  assert.deepEqual(written.map((f) => f.replace(/^start-[0-9a-f]{16}-.*-(help|tab)\.bin$/, '$1')), ['help', 'tab'], written.join(' '));
});

test('with the service\'s own packages (the peer, umzug, @types/node): every export imports from ESM and type-checks strictly without skipLibCheck or @types/pg; the README\'s server program runs as written', async (t) => {
  // What a TypeScript service adds next to opsctl: versions the repository uses, from npm's cache.
  const more = ['@openfeature/server-sdk', '@openfeature/core', 'umzug', '@types/node'].map((n) => `${n}@${repoVersion(n)}`);
  const r = await sh(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', ...more], project);
  assert.equal(r.code, 0, r.out);
  assert.equal(fs.existsSync(path.join(project, 'node_modules/@types/pg')), false, 'type-checked without @types/pg');

  // Every export, at run time.
  for (const sub of Object.keys(pkg.exports)) {
    const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    const m = await sh([process.execPath, '--input-type=module', '-e', `const m = await import(${JSON.stringify(spec)}); if (!Object.keys(m).length) process.exit(3);`], project);
    assert.equal(m.code, 0, `import('${spec}'): ${m.out}`);
  }

  // Every export, at type-check time: one strict file each, plus the README's TypeScript as the packed README has it.
  const src = path.join(project, 'src');
  fs.mkdirSync(src, { recursive: true });
  const usage: Record<string, string> = {
    '.': "const port: api.InternalPort | undefined = undefined; void port; void api.createInternalPort; const code: api.ExitCodeValue = api.ExitCode.AUTH; void code;",
    './server': "const opts: api.InternalPortOptions = { service: { name: 's', version: '1' }, authorizedKeysFile: 'k', auditLogFile: 'a' }; void opts;",
    './server/postgres': "const store = new api.PostgresFlagStore({ connection: 'postgresql://orders@localhost/orders' }); void store; const lock: import('opsctl/server').MigrationLock = new api.PostgresMigrationLock({ connection: { host: '/run/postgresql', database: 'orders' } }); void lock;",
    './server/openfeature': "const p: api.OpsctlProvider | undefined = undefined; void p; void api.createOpenFeatureProvider;",
    './protocol': "const id: string = api.fingerprintOfPublicKeyLine('ssh-ed25519 AAAA'); void id;",
  };
  Object.keys(pkg.exports).forEach((sub, i) => {
    const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    fs.writeFileSync(path.join(src, `export-${i}.ts`), `import * as api from '${spec}';\nexport const all: unknown[] = Object.values(api);\n${usage[sub] ?? ''}\n`);
  });
  const { programs } = tsPrograms(installed, ['README.md']);
  const server = programs.findIndex((p) => p.standalone);
  assert.ok(server >= 0, 'the packed README has its server program');
  programs.forEach((p, i) => fs.writeFileSync(path.join(src, `readme-${i}.ts`), p.source));
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ ...STRICT_TSCONFIG, include: ['src'] }));
  const tsc = await sh([process.execPath, path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], project);
  assert.equal(tsc.code, 0, tsc.out);

  if (requireSshd(t)) return;
  await exerciseReadmeServer({
    program: path.join(project, 'out', `readme-${server}.js`),
    cwd: project,
    opsctl: [path.join(project, 'node_modules/.bin/opsctl')],
    dir: fs.mkdtempSync(path.join(dir, 'run-')),
  });
});

test('every link of the packed README resolves: a shipped file, a heading, or the repository', () => {
  const readme = fs.readFileSync(path.join(installed, 'README.md'), 'utf8');
  const anchors = (md: string) => new Set([...md.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
  const own = anchors(readme);
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  assert.ok(links.length > 10, `links found: ${links.length}`);
  for (const link of links) {
    const [target, anchor] = link.split('#') as [string, string | undefined];
    if (link.startsWith('#')) {
      assert.ok(own.has(anchor!), `${link}: a heading of the README`);
    } else if (link.startsWith(`${REPOSITORY}/`)) {
      const m = /^https:\/\/github\.com\/opsctl\/opsctl\/(?:blob|tree)\/main\/(.+)$/.exec(target);
      assert.ok(m, `${link}: a file or directory of the repository (…/blob/main/PATH)`);
      const file = path.join(ROOT, m[1]!);
      assert.ok(fs.existsSync(file), `${link}: ${m[1]} exists in the repository`);
      if (anchor) assert.ok(anchors(fs.readFileSync(file, 'utf8')).has(anchor), `${link}: #${anchor} is a heading of ${m[1]}`);
    } else if (/^https?:\/\//.test(link)) {
      assert.doesNotMatch(link, /github\.com\/(?!opsctl\/opsctl\/)/, `${link}: another repository?`);
    } else {
      assert.ok(fs.existsSync(path.join(installed, target)), `${link}: a relative link must name a file the package ships (else link to ${REPOSITORY}/blob/main/…)`);
    }
  }
});
