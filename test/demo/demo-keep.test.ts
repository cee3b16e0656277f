/**
 * `npm run demo -- --keep`: the one pasted line drives the kept environment
 * (a real command, and TAB completion with nothing else to source, in bash,
 * zsh and fish), the second line makes a second terminal bob, with whom
 * README's two-person approval walkthrough runs as written, and Ctrl-C
 * tears it down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoDir, freshHome, processesUsing } from '../helpers/demo-run.js';
import { ensureBuilt, ROOT } from '../helpers/stack.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

const DEMO = path.join(ROOT, 'dist/src/demo/main.js');

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
  // No $SHELL in this environment: the lines are for bash, one for you and one for a second person.
  const [, line, bashFile] = pasteLine.exec(out)!;
  assert.deepEqual(out.split('\n').filter((l) => /^ {2}source /.test(l)).map((l) => path.basename(l)), ['activate.bash', 'activate-bob.bash'], 'one line to paste, and one for bob');
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

  await readmeTwoPersonWalkthrough(t, env, line!, /^ {2}(source \S+activate-bob\.bash)$/m.exec(out)![1]!);

  assert.ok(processesUsing(dir).length > 0, 'the demo service runs while kept');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, `${out}\n${err}`);
  assert.equal(fs.existsSync(dir), false, 'temp dir removed');
  assert.deepEqual(processesUsing(dir), [], 'nothing left running');
  assert.deepEqual(fs.readdirSync(env.HOME!).filter((f) => f !== 'bin'), [], 'nothing written to HOME');
});

/**
 * README "Approvals and dry-run": the `alice$` and `bob$` lines exactly as
 * written (Q3vX… replaced by the real id), alice in one terminal (her
 * command waits), bob in another (he types "approve"); alice's own attempt to
 * approve is refused before anything is shown.
 */
async function readmeTwoPersonWalkthrough(t: { diagnostic(s: string): void }, env: Record<string, string>, aliceLine: string, bobLine: string): Promise<void> {
  if (requireTmux(t as never)) return;
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const said = (who: string) =>
    readme.split('\n').filter((l) => l.startsWith(`${who}$ `)).map((l) => l.slice(who.length + 2).replace(/\s{2,}#.*$/, '').trim());
  const [down, ...aliceRest] = said('alice');
  const [show, approve, ...bobRest] = said('bob');
  assert.ok(down && show && approve && !aliceRest.length && !bobRest.length, `the README's walkthrough: alice ${said('alice')} bob ${said('bob')}`);
  const shell = (activate: string, command: string) => runInTerminal(['bash', '--norc', '--noprofile', '-c', `${activate}\n${command}`], env, ROOT);

  const alice = shell(aliceLine, down!);
  try {
    const screen = await alice.waitFor(/a second person runs:\s+opsctl --context demo approvals approve [A-Za-z0-9]{16}/, 60_000);
    const id = /held as approval ([A-Za-z0-9]{16}), expires/.exec(screen)![1]!;
    // The README's own words for what alice sees, with the demo's context.
    assert.match(screen, new RegExp(`migrations\\.down needs 1 approval\\(s\\) by another person: held as approval ${id}, expires `));

    const self = shell(aliceLine, `opsctl approvals approve ${id}`);
    const refused = await self.exit();
    assert.equal(refused.code, 3, refused.screen);
    assert.match(refused.screen, /alice asked for this request and cannot approve it; another person must/);
    assert.doesNotMatch(refused.screen, /Type "approve"/);

    const shown = spawnSync('bash', ['--norc', '--noprofile', '-c', `${bobLine}\n${show!.replace('Q3vX…', id)}`], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /requester\s+alice \(admin/);
    assert.match(shown.stdout, /reason\s+roll back release 42/);
    const bob = shell(bobLine, approve!.replace('Q3vX…', id));
    try {
      await bob.waitFor(/Type "approve" to approve/, 60_000);
      bob.type('approve');
      const r = await bob.exit();
      assert.equal(r.code, 0, r.screen);
      assert.match(r.screen, /approved: migrations\.down ran as alice/);
    } finally {
      bob.kill();
    }
    const done = await alice.exit();
    assert.equal(done.code, 0, done.screen);
    assert.match(done.screen, /approved by bob; migrations\.down ran/);
    assert.match(done.screen, /reverted 2 migration\(s\)/);
  } finally {
    alice.kill();
  }
}
