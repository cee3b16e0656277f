/**
 * opsctl-port as the package ships it (README, "Working on opsctl": what the
 * package ships): `npm pack`, `npm install` of the tarball into an empty
 * directory, then the installed bin — not the checkout's. `schema` prints
 * the shipped schema file; `check` reads a copy of the Caddy example, names
 * a missing upstream by its line (exit 2) and passes once it listens. Its
 * own file and its own pack (test/helpers/packed.ts), so the package files
 * run side by side within the per-file budget.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from '../helpers/build.js';
import { packAndInstall, sh, type Packed } from '../helpers/packed.js';
import { makeKey, writeAllowlist } from '../helpers/signed-client.js';

let p: Packed;
let bin: string;

before(async () => {
  p = await packAndInstall();
  bin = path.join(p.project, 'node_modules/.bin/opsctl-port');
});
after(() => fs.rmSync(p.dir, { recursive: true, force: true }));

test('the installed opsctl-port: schema prints the shipped schema file; check names a problem by line, and passes once the upstream is up', async () => {
  const schema = await sh([bin, 'schema'], p.dir);
  assert.equal(schema.code, 0, schema.out);
  assert.equal(schema.out, fs.readFileSync(path.join(p.installed, 'schema/opsctl-port.schema.json'), 'utf8'), 'the installed schema command prints the shipped file');
  // The Caddy example as a service team would copy it (examples/ is not shipped).
  const edge = path.join(p.dir, 'edge');
  fs.cpSync(path.join(ROOT, 'examples/sidecar/caddy'), edge, { recursive: true });
  writeAllowlist(path.join(edge, 'opsctl_keys'), [[makeKey(p.dir, 'alice'), 'admin']]);
  const config = path.join(edge, 'opsctl-port.yaml');
  const down = await sh([bin, 'check', '--config', config], p.dir);
  assert.equal(down.code, 2, down.out);
  assert.match(down.out, /opsctl-port\.yaml:20:\d+: error: endpoints\[0\]\.http\.upstream: socket .*caddy-admin\.sock does not exist/);
  fs.mkdirSync(path.join(edge, 'run'), { mode: 0o700 });
  const admin = net.createServer((c) => c.end());
  await new Promise<void>((r) => admin.listen(path.join(edge, 'run/caddy-admin.sock'), r));
  try {
    const ok = await sh([bin, 'check', '--config', config], p.dir);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /ok — caddy-edge: 3 endpoint\(s\)/);
  } finally {
    admin.close();
  }
});
