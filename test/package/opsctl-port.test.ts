/**
 * opsctl-port as the package ships it (README, "Working on opsctl": what the
 * package ships): `npm pack`, `npm install` of the tarball into an empty
 * directory, then the installed bin — not the checkout's. `schema` prints
 * the shipped schema file; `check` reads a copy of the Caddy example, names
 * a missing upstream by its line (exit 2) and passes once it listens. Its
 * own file (the package test is near its per-file budget under load).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { makeKey, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let installed: string;
let bin: string;

/** Runs a command to its end (async, so the test runner's timers keep running). */
function sh(argv: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

before(async () => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-port-package-'));
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = path.join(dir, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
  const project = path.join(dir, 'edge-host');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'edge-host', version: '1.0.0', private: true }));
  const r = await sh(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
  assert.equal(r.code, 0, r.out);
  installed = path.join(project, 'node_modules/opsctl');
  bin = path.join(project, 'node_modules/.bin/opsctl-port');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the installed opsctl-port: schema prints the shipped schema file; check names a problem by line, and passes once the upstream is up', async () => {
  const schema = await sh([bin, 'schema'], dir);
  assert.equal(schema.code, 0, schema.out);
  assert.equal(schema.out, fs.readFileSync(path.join(installed, 'schema/opsctl-port.schema.json'), 'utf8'), 'the installed schema command prints the shipped file');
  // The Caddy example as a service team would copy it (examples/ is not shipped).
  const edge = path.join(dir, 'edge');
  fs.cpSync(path.join(ROOT, 'examples/sidecar/caddy'), edge, { recursive: true });
  writeAllowlist(path.join(edge, 'opsctl_keys'), [[makeKey(dir, 'alice'), 'admin']]);
  const config = path.join(edge, 'opsctl-port.yaml');
  const down = await sh([bin, 'check', '--config', config], dir);
  assert.equal(down.code, 2, down.out);
  assert.match(down.out, /opsctl-port\.yaml:20:\d+: error: endpoints\[0\]\.http\.upstream: socket .*caddy-admin\.sock does not exist/);
  fs.mkdirSync(path.join(edge, 'run'), { mode: 0o700 });
  const admin = net.createServer((c) => c.end());
  await new Promise<void>((r) => admin.listen(path.join(edge, 'run/caddy-admin.sock'), r));
  try {
    const ok = await sh([bin, 'check', '--config', config], dir);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /ok — caddy-edge: 3 endpoint\(s\)/);
  } finally {
    admin.close();
  }
});
