/**
 * The V8 code cache of the start-up path (bin/load-start.js): bytecode the
 * process runs, so it is read only from a 0700 directory and a 0600 file
 * that are the user's own, never through a symlink; a cache V8 refuses or
 * another build's is replaced; and the answers are the same with or
 * without it. Each load is a process of its own (V8 would answer a second
 * compile of the same source in one process from memory), against the
 * built dist/cli/start.cjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/stack.js';

const START = path.join(ROOT, 'dist/cli/start.cjs');
const LOADER = path.join(ROOT, 'bin/load-start.js');

function home(t: { after(fn: () => void): void }): { env: Record<string, string>; dir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-v8cache-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return { env: { HOME: root, XDG_CACHE_HOME: path.join(root, 'cache'), PATH: process.env.PATH ?? '' }, dir: path.join(root, 'cache', 'opsctl', 'v8') };
}

/** Loads start.cjs through the loader in a new process; remembers (writes) after, as the binary does. */
function load(env: Record<string, string>, kind = 'tab'): string {
  const script = `const l = require(${JSON.stringify(LOADER)}).loadStart(${JSON.stringify(START)}, ${JSON.stringify(kind)}); l.remember().then(() => process.stdout.write(l.state));`;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const files = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !f.startsWith('.')) : []);

test('written once after a run (0600 in 0700), then used; one cache per kind of run', (t) => {
  ensureBuilt();
  const { env, dir } = home(t);
  assert.equal(load(env), 'miss');
  const [name] = files(dir);
  assert.match(name!, /^start-[0-9a-f]{16}-v\d+\.\d+\.\d+-[a-z0-9]+-tab\.bin$/);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(dir, name!)).mode & 0o777, 0o600);
  const written = fs.statSync(path.join(dir, name!)).mtimeMs;
  assert.equal(load(env), 'hit');
  assert.equal(fs.statSync(path.join(dir, name!)).mtimeMs, written, 'a hit writes nothing');
  assert.equal(load(env, 'help'), 'miss', 'help has its own');
  assert.equal(files(dir).length, 2);
});

test('not the user\'s alone: a directory or a file others may write is neither read nor written', (t) => {
  ensureBuilt();
  const { env, dir } = home(t);
  load(env);
  const [name] = files(dir);
  fs.chmodSync(dir, 0o777);
  assert.equal(load(env), 'refused');
  assert.equal(load(env, 'help'), 'refused');
  assert.deepEqual(files(dir), [name], 'nothing written into it');
  fs.chmodSync(dir, 0o700);
  fs.chmodSync(path.join(dir, name!), 0o666);
  assert.equal(load(env), 'refused');
});

test('a symlink is not followed; a corrupt cache or another build\'s is replaced; answers never change', (t) => {
  ensureBuilt();
  const { env, dir } = home(t);
  load(env);
  const [name] = files(dir);
  const file = path.join(dir, name!);
  const elsewhere = path.join(dir, '..', 'elsewhere.bin');
  fs.copyFileSync(file, elsewhere);
  const target = fs.readFileSync(elsewhere);
  fs.rmSync(file);
  fs.symlinkSync(elsewhere, file);
  assert.equal(load(env), 'miss', 'O_NOFOLLOW: the link is no cache');
  assert.ok(!fs.lstatSync(file).isSymbolicLink(), 'replaced by a file of its own');
  assert.deepEqual(fs.readFileSync(elsewhere), target, 'the link target is untouched');

  fs.writeFileSync(file, Buffer.alloc(4096, 7), { mode: 0o600 });
  assert.equal(load(env), 'miss', 'V8 refused it');
  assert.equal(load(env), 'hit', 'and it was written anew');

  const stale = path.join(dir, 'start-0123456789abcdef-v1.0.0-x64-tab.bin');
  fs.writeFileSync(stale, 'old', { mode: 0o600 });
  fs.rmSync(file);
  load(env);
  assert.ok(!fs.existsSync(stale), 'another build\'s cache is removed');

  // The binary answers alike with a cache, without one, and with a refused one.
  const run = () => spawnSync(process.execPath, [path.join(ROOT, 'bin/opsctl.js'), '__complete', 'bash', '--', 'opsctl', 'mig'], { env, encoding: 'utf8' }).stdout;
  const withCache = run();
  fs.rmSync(dir, { recursive: true, force: true });
  const without = run();
  fs.chmodSync(dir, 0o777);
  const refused = run();
  assert.equal(withCache, 'migrate\n');
  assert.equal(without, withCache);
  assert.equal(refused, withCache);
});
