/**
 * `npm run demo` (node dist/src/demo/main.js) on a fresh HOME: exit 0, every
 * step of the tour ran, nothing left running, nothing left on disk, nothing
 * written to HOME. And `--keep`: the one pasted line drives the kept
 * environment (a real command, and TAB completion with nothing else to
 * source, in bash, zsh and fish), Ctrl-C tears it down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/stack.js';

const DEMO = path.join(ROOT, 'dist/src/demo/main.js');

function freshHome(t: { after(fn: () => void): void }): Record<string, string> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1' };
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Processes whose command line mentions the path (the demo service runs with --data-dir DIR/service). */
function processesUsing(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes(dir) && !l.includes('ps -eo'));
}

function demoDir(output: string): string {
  const m = /Everything below lives in (\S+) and is removed at the end\./.exec(output);
  assert.ok(m, `the demo names its temp dir:\n${output}`);
  return m[1]!;
}

test('npm run demo: the whole tour through the real tunnel, exit 0, nothing left behind', async (t) => {
  ensureBuilt();
  const env = freshHome(t);
  const r = spawnSync(process.execPath, [DEMO], { cwd: ROOT, env, encoding: 'utf8', timeout: 170_000 });
  const all = r.stdout + r.stderr;
  assert.equal(r.status, 0, all);
  for (const cmd of [
    '$ opsctl context add demo --bastion operator@127.0.0.1:',
    '$ opsctl doctor',
    '$ opsctl health',
    '$ opsctl endpoints',
    '$ opsctl migrate plan',
    "$ opsctl migrate up --yes --reason 'demo: first deploy'",
    '$ opsctl flags set discount_percent 20',
    '$ opsctl flags enable maintenance_mode',
    '$ opsctl metrics --filter ^demo_orders',
    '$ opsctl tasks run recompute-totals --follow',
    '$ opsctl audit tail -n 8',
    '$ opsctl audit verify',
  ]) {
    assert.ok(r.stdout.includes(cmd), `missing step ${cmd}`);
  }
  // The flag's effect on the public API, and the task's progress.
  assert.match(r.stdout, /HTTP 201 order #2: .* total 22\.50 \(10% off\) for alice/, 'alice is in the 20 % rollout');
  assert.match(r.stdout, /HTTP 201 order #3: .* total 25\.00 for bob/, 'bob is not');
  assert.match(r.stdout, /HTTP 503 .*maintenance/);
  assert.match(all, /progress 100%/);
  assert.match(all, /audit log intact/);
  assert.match(r.stdout, /Torn down/);
  const dir = demoDir(r.stdout);
  assert.equal(fs.existsSync(dir), false, 'temp dir removed');
  assert.deepEqual(processesUsing(dir), [], 'nothing left running');
  assert.deepEqual(fs.readdirSync(env.HOME!), [], 'nothing written to HOME');
});

test('npm run demo -- --keep: the printed line explores the kept environment; Ctrl-C tears it down', async (t) => {
  ensureBuilt();
  const env = freshHome(t);
  // Its own process group, with the demo service it starts: if this test
  // process dies mid-way, the exit hook takes both down by the group's id.
  const child = spawn(process.execPath, [DEMO, '--keep'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const running = () => child.exitCode === null && child.signalCode === null;
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
  };
  process.once('exit', killGroup);
  t.after(async () => {
    // A failed assertion: Ctrl-C first, so the demo tears down its service and
    // removes its temp dir (SIGKILL would leave both behind), then the group.
    if (running()) {
      child.kill('SIGINT');
      await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 25_000))]);
    }
    killGroup();
    process.off('exit', killGroup);
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 170_000;
  const pasteLine = /^ {2}(source (\S+activate\.bash))$/m;
  while (!pasteLine.test(out) || !/Another shell: .*activate\.fish/.test(out)) {
    if (child.exitCode !== null) assert.fail(`demo exited early (${child.exitCode}):\n${out}\n${err}`);
    if (Date.now() > deadline) assert.fail(`no paste line:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // No $SHELL in this environment: the line is for bash, and only one line.
  const [, line, bashFile] = pasteLine.exec(out)!;
  assert.equal(out.split('\n').filter((l) => /^ {2}source /.test(l)).length, 1, 'one line to paste');
  const dir = demoDir(out);
  assert.ok(bashFile!.startsWith(dir), `the file lives in the demo dir: ${bashFile}`);

  // Paste the line into a fresh bash, as a person would, and use opsctl.
  const used = spawnSync('bash', ['--norc', '--noprofile', '-c', `${line}\nopsctl flags get discount_percent -o json\n`], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(used.status, 0, used.stderr);
  assert.equal(JSON.parse(used.stdout).value, 20);

  // TAB in that same pasted shell, with nothing else sourced: the line loaded
  // the completion, and flag names come from the cache the tour filled.
  const complete = spawnSync(
    'bash',
    ['--norc', '--noprofile', '-c', `${line}\ncomplete -p opsctl >&2; COMP_WORDS=(opsctl flags get ''); COMP_CWORD=3; _opsctl; printf '%s\\n' "\${COMPREPLY[@]}"`],
    { env, encoding: 'utf8' },
  );
  assert.match(complete.stderr, /complete -F _opsctl opsctl/, 'the completion is registered');
  const offered = complete.stdout.split('\n').filter(Boolean);
  for (const name of ['discount_percent', 'maintenance_mode', 'max_page_size']) assert.ok(offered.includes(name), `${name} offered: ${offered.join(' ')} ${complete.stderr}`);

  // The same for zsh and fish, from the files the note names.
  const zshFile = /source (\S+activate\.zsh)/.exec(out)![1]!;
  const fishFile = /source (\S+activate\.fish)/.exec(out)![1]!;
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const have = (bin: string) => {
    if (!spawnSync(bin, ['--version']).error) return true;
    if (ci) assert.fail(`CI: ${bin} is not installed`);
    t.diagnostic(`${bin} missing: its activate file is not checked`);
    return false;
  };
  if (have('zsh')) {
    const z = spawnSync('zsh', ['-f', '-c', `source ${zshFile}; print -r -- "$_comps[opsctl]"; opsctl context current`], { env, encoding: 'utf8' });
    assert.equal(z.stdout, '_opsctl\ndemo\n', `zsh: completion registered and the demo context current: ${z.stderr}`);
    assert.deepEqual(fs.readdirSync(env.HOME!), [], 'zsh wrote no dump file into HOME');
  }
  if (have('fish')) {
    // fish keeps its own state under XDG dirs even with --no-config: not in this HOME.
    const fishState = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-fish-'));
    t.after(() => fs.rmSync(fishState, { recursive: true, force: true }));
    const fishEnv = { ...env, XDG_CONFIG_HOME: fishState, XDG_DATA_HOME: fishState, XDG_CACHE_HOME: fishState };
    const f = spawnSync('fish', ['--no-config', '-c', `source ${fishFile}; complete -C 'opsctl flags get '`], { env: fishEnv, encoding: 'utf8' });
    const names = f.stdout.split('\n').map((l) => l.split('\t')[0]);
    for (const name of ['discount_percent', 'maintenance_mode', 'max_page_size']) assert.ok(names.includes(name), `fish offers ${name}: ${f.stdout} ${f.stderr}`);
  }

  assert.ok(processesUsing(dir).length > 0, 'the demo service runs while kept');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, `${out}\n${err}`);
  assert.equal(fs.existsSync(dir), false, 'temp dir removed');
  assert.deepEqual(processesUsing(dir), [], 'nothing left running');
  assert.deepEqual(fs.readdirSync(env.HOME!).filter((f) => f !== 'bin'), [], 'nothing written to HOME');
});
