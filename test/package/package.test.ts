/**
 * The package as a service team gets it (README, "Working on opsctl": what
 * the package ships): `npm pack`, then `npm install` of the tarball into an
 * empty project with npm's install scripts on. The install warns about
 * nothing and builds nothing natively; every bin runs; opsctl/server/openfeature
 * without its peer names the package to install; every link of the packed
 * README resolves (a shipped file, or the repository). Type-checking against
 * a service's own packages and the README's server program behind a real
 * sshd are in package-service.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/build.js';
import { packAndInstall, pkg, REPOSITORY, sh, type Packed } from '../helpers/packed.js';

let dir: string;
let project: string;
let installed: string;
let packed: Packed['packed'];
let install: Packed['install'];

before(async () => {
  ({ dir, project, installed, packed, install } = await packAndInstall());
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
