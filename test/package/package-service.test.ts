/**
 * The package next to a TypeScript service's own packages (the OpenFeature
 * peer, umzug, @types/node): every export imports from ESM and type-checks
 * strictly without skipLibCheck (and without @types/pg); the README's server
 * program, as the packed README has it, runs behind a real sshd and the
 * installed `opsctl` uses it. Its own file: with the install and the sshd
 * round trip it is the slowest package check.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/build.js';
import { STRICT_TSCONFIG, tsPrograms } from '../helpers/doc-snippets.js';
import { packAndInstall, pkg, repoVersion, sh } from '../helpers/packed.js';
import { exerciseReadmeServer } from '../helpers/readme-server.js';
import { requireSshd } from '../helpers/sshd.js';

let dir: string;
let project: string;
let installed: string;

before(async () => {
  ({ dir, project, installed } = await packAndInstall());
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
