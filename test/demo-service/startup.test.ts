// The demo service's command line, run as a real process: flag errors,
// start-up refusals, the one-line stdout contract (also through npm itself,
// and --ready-file), and a clean SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDemoBuilt, ROOT, runDemoServiceExpectingExit, startDemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { plain, signed } from './signed-http.js';

let dir: string;
let admin: TestKey;
let keysFile: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-startup-'));
  admin = generateKeyPair('alice@ops');
  keysFile = path.join(dir, 'authorized_keys');
  fs.writeFileSync(keysFile, admin.authorizedKeysLine('admin') + '\n');
});
after(() => {
  admin.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

const base = () => ['--data-dir', path.join(dir, 'data'), '--internal-port', '0', '--public-port', '0', '--authorized-keys', keysFile];

/** The failure message: the last stderr line (logs written before it are fine). */
function lastLine(stderr: string): string {
  const line = stderr.trim().split('\n').at(-1) ?? '';
  assert.match(line, /^demo-service: \S/, `expected a closing "demo-service: …" line, got:\n${stderr}`);
  return line;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected a one-line message, got:\n${stderr}`);
  return lines[0]!;
}

test('an unknown flag is a usage error (exit 2) named on one stderr line; stdout stays empty', async () => {
  const r = await runDemoServiceExpectingExit([...base(), '--verbose']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(oneLine(r.stderr), /^demo-service: .*--verbose/);
});

test('missing required flags are all named (exit 2)', async () => {
  const r = await runDemoServiceExpectingExit(['--internal-port', '0']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(oneLine(r.stderr), /missing required flags --data-dir, --public-port, --authorized-keys/);
});

test('a malformed port and a positional argument are usage errors', async () => {
  const bad = await runDemoServiceExpectingExit([...base(), '--public-port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(oneLine(bad.stderr), /--public-port must be a port number/);
  const positional = await runDemoServiceExpectingExit([...base(), 'extra']);
  assert.equal(positional.code, 2);
  assert.match(oneLine(positional.stderr), /extra/);
  const pool = await runDemoServiceExpectingExit([...base(), '--verify-on-thread-pool', 'x']);
  assert.equal(pool.code, 2);
  assert.match(oneLine(pool.stderr), /--verify-on-thread-pool must be a whole number from 0 to 64/);
});

test('--help prints usage on stderr, nothing on stdout, exit 0', async () => {
  const r = await runDemoServiceExpectingExit(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /usage: demo-service --data-dir DIR --internal-port N --public-port N --authorized-keys FILE/);
});

test('a non-loopback internal host is refused without --allow-non-loopback', async () => {
  const r = await runDemoServiceExpectingExit([...base(), '--internal-host', '0.0.0.0']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(lastLine(r.stderr), /loopback/i);
});

test('--allow-non-loopback lets the internal port bind a non-loopback address, and the line says so', async (t) => {
  const svc = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n', extraArgs: ['--internal-host', '0.0.0.0', '--allow-non-loopback'] });
  t.after(() => svc.stop());
  assert.equal(svc.internal.host, '0.0.0.0');
  assert.match(svc.stdout(), /^\{"internal":"0\.0\.0\.0:\d+","public":"127\.0\.0\.1:\d+"\}\n$/);
  const r = await signed({ host: '127.0.0.1', port: svc.internal.port }, admin, 'GET', '/v1/health');
  assert.equal(r.status, 200, r.text);
});

test('an empty, missing or all-malformed allowlist is refused at start', async () => {
  const empty = path.join(dir, 'empty_keys');
  fs.writeFileSync(empty, '# nobody yet\n\n');
  const malformed = path.join(dir, 'malformed_keys');
  fs.writeFileSync(malformed, 'role="admin" ssh-ed25519 not-base64!!! someone\n');
  for (const file of [empty, path.join(dir, 'does-not-exist'), malformed]) {
    const args = base();
    args[args.indexOf('--authorized-keys') + 1] = file;
    const r = await runDemoServiceExpectingExit(args);
    assert.equal(r.code, 1, `${path.basename(file)}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(lastLine(r.stderr), /allowlist|authorized|ENOENT|no such file/i, path.basename(file));
  }
});

test('a public port already in use is a clear start-up failure, not a crash', async (t) => {
  const svc = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n' });
  t.after(() => svc.stop());
  const r = await runDemoServiceExpectingExit([...base(), '--public-port', String(svc.public.port)]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(lastLine(r.stderr), /public API cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});

test('prints exactly one JSON address line, serves both ports, exits 0 on SIGTERM', async () => {
  const svc = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n' });
  let stopped = false;
  try {
    assert.match(svc.stdout(), /^\{"internal":"127\.0\.0\.1:\d+","public":"127\.0\.0\.1:\d+"\}\n$/);
    assert.notEqual(svc.internal.port, 0);
    assert.notEqual(svc.public.port, svc.internal.port);

    const health = await plain(svc.public, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.json.migrated, false);

    const internal = await signed(svc.internal, admin, 'GET', '/v1/health');
    assert.equal(internal.status, 200, internal.text);
    assert.equal(internal.json.service ?? internal.json.name, 'demo-orders');

    // The internal port is not the public API and vice versa.
    assert.equal((await plain(svc.internal, 'GET', '/healthz')).status >= 400, true);
    assert.equal((await plain(svc.public, 'GET', '/v1/health')).status, 404);

    assert.equal(fs.statSync(path.join(svc.dataDir, 'orders.sqlite')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(svc.auditLog).mode & 0o777, 0o600);

    const exit = await svc.stop();
    stopped = true;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(svc.stdout().split('\n').filter(Boolean).length, 1, 'nothing else ever on stdout');
    assert.match(svc.stderr(), /SIGTERM: closing listeners and database/);
  } finally {
    if (!stopped) await svc.stop();
  }
});

test('SIGINT also shuts down cleanly and a restart on the same data dir works', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-restart-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const first = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n', dataDir });
  const exited = new Promise<number | null>((resolve) => first.proc.once('exit', (code) => resolve(code)));
  first.proc.kill('SIGINT');
  assert.equal(await exited, 0);
  await first.stop();
  const second = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n', dataDir });
  t.after(() => second.stop());
  assert.equal((await plain(second.public, 'GET', '/healthz')).status, 200);
});

test('--ready-file: the same line, written whole (0600) over a stale file, removed at a clean exit', async (t) => {
  const ready = path.join(dir, 'ready.json');
  fs.writeFileSync(ready, '{"internal":"127.0.0.1:1","public":"127.0.0.1:2"}\n');
  const svc = await startDemoService({ authorizedKeys: admin.authorizedKeysLine('admin') + '\n', extraArgs: ['--ready-file', ready] });
  t.after(() => svc.stop());
  assert.equal(fs.readFileSync(ready, 'utf8'), svc.stdout(), 'the file holds the address line, not the stale one');
  assert.equal(fs.statSync(ready).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temp file left beside it');
  assert.deepEqual(await svc.stop(), { code: 0, signal: null });
  assert.equal(fs.existsSync(ready), false, 'removed at a clean exit');
  const empty = await runDemoServiceExpectingExit([...base(), '--ready-file', '']);
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(oneLine(empty.stderr), /--ready-file must not be empty/);
});

/**
 * Starts `npm run [-s] demo-service -- …` in its own process group and waits
 * for FILE. stop() sends SIGTERM to npm alone, as `kill $!` in a script does.
 */
async function npmRun(npmArgs: string[], ready: string, t: { after(fn: () => unknown): void }): Promise<{ stdout: () => string; stop: () => Promise<void> }> {
  const args = base();
  args[args.indexOf('--data-dir') + 1] = `${ready}.data`;
  ensureDemoBuilt(); // so npm's own --if-stale build has nothing to do
  // npm's own settings only from this repo: none inherited from an enclosing npm run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const child = spawn('npm', [...npmArgs, 'demo-service', '--', ...args, '--ready-file', ready], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // only if stop() did not get to it
    } catch {
      // the group is gone
    }
    await exited;
  });
  for (let i = 0; !fs.existsSync(ready); i++) {
    if (child.exitCode !== null) assert.fail(`npm ${npmArgs.join(' ')} exited ${child.exitCode}: ${err}`);
    if (i > 300) assert.fail(`no --ready-file after 30 s: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    stdout: () => out,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      for (let i = 0; i < 100 && fs.existsSync(ready); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(fs.existsSync(ready), false, `SIGTERM to npm reached the service (it removed --ready-file at its clean exit): ${err}`);
    },
  };
}

test('through npm itself: --ready-file holds exactly the line under plain npm run; npm run -s keeps stdout to it; kill $! stops it', async (t) => {
  const plainReady = path.join(dir, 'npm-ready.json');
  const plainRun = await npmRun(['run'], plainReady, t);
  const line = fs.readFileSync(plainReady, 'utf8');
  assert.match(line, /^\{"internal":"127\.0\.0\.1:\d+","public":"127\.0\.0\.1:\d+"\}\n$/);
  // npm (11) prints "> opsctl@… demo-service" on stdout before the script: the
  // line is among stdout's lines, not necessarily the first.
  for (let i = 0; i < 50 && !plainRun.stdout().includes(line); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(plainRun.stdout().split('\n').includes(line.trim()), `the address line on stdout:\n${plainRun.stdout()}`);
  await plainRun.stop();

  const silentReady = path.join(dir, 'npm-s-ready.json');
  const silentRun = await npmRun(['run', '-s'], silentReady, t);
  const silentLine = fs.readFileSync(silentReady, 'utf8');
  for (let i = 0; i < 50 && silentRun.stdout() === ''; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(silentRun.stdout(), silentLine, 'npm run -s: stdout is exactly the one line');
  await silentRun.stop();
});
