/**
 * The committed completion scripts in real shells: they equal what
 * `opsctl completion <shell>` prints, bash/zsh/fish accept their syntax, and
 * pressing TAB (bash: the completion function with COMP_WORDS; fish:
 * `complete -C`; zsh: a real interactive zsh in tmux) offers the right words
 * through the built CLI.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, privateHome, runCli, ROOT } from '../helpers/stack.js';
import { startZsh } from '../helpers/tmux.js';
import { COMPLETION_FILES } from '../../src/cli/man/generate-docs.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';

function have(bin: string): boolean {
  return !spawnSync(bin, ['--version'], { stdio: 'ignore' }).error;
}

/** Skips (or fails under CI) when a shell is missing; true means return. */
function need(t: TestContext, bin: string): boolean {
  if (have(bin)) return false;
  if (ci) throw new Error(`CI: ${bin} is not installed`);
  t.skip(`${bin} is not installed`);
  return true;
}

const file = (shell: keyof typeof COMPLETION_FILES) => path.join(ROOT, COMPLETION_FILES[shell]);

/** A private HOME whose PATH has an `opsctl` that runs the built CLI, with a config and a cache. */
function completionHome(t: TestContext): Record<string, string> {
  ensureBuilt();
  const { dir, env } = privateHome('opsctl-shells-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'opsctl'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/opsctl.js')}" "$@"\n`, { mode: 0o755 });
  env.PATH = `${bin}:${env.PATH}`;
  const cfg = path.join(env.XDG_CONFIG_HOME!, 'opsctl');
  fs.mkdirSync(cfg, { recursive: true });
  fs.writeFileSync(path.join(cfg, 'config.yaml'), 'current-context: prod\ncontexts:\n  prod:\n    host:\n      - app1\n      - app3\n  staging:\n    host: [app2, app4]\n');
  const cache = path.join(env.XDG_CACHE_HOME!, 'opsctl');
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(path.join(cache, 'prod.json'), JSON.stringify({ updatedAt: new Date().toISOString(), values: { flags: ['maintenance_mode', 'discount_percent', 'max_page_size'] } }));
  return env;
}

/** COMPREPLY after calling the bash completion function with these COMP_WORDS (last = current word). */
export function bashComplete(env: Record<string, string>, words: string[]): string[] {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _opsctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', file('bash'), ...words], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('the committed completion files are exactly what `opsctl completion <shell>` prints', async () => {
  ensureBuilt();
  const { dir, env } = privateHome('opsctl-drift-');
  try {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const r = await runCli(['completion', shell], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.readFileSync(file(shell), 'utf8'), r.stdout, `${COMPLETION_FILES[shell]} drifted: run node scripts/gen-docs.mjs`);
    }
    const bad = await runCli(['completion', 'tcsh'], env);
    assert.equal(bad.code, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bash, zsh and fish accept the syntax of their scripts', (t) => {
  for (const [bin, shell] of [['bash', 'bash'], ['zsh', 'zsh'], ['fish', 'fish']] as const) {
    if (!have(bin)) {
      if (ci) throw new Error(`CI: ${bin} is not installed`);
      t.diagnostic(`${bin} missing: syntax not checked`);
      continue;
    }
    const r = spawnSync(bin, ['-n', file(shell)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${bin} -n ${COMPLETION_FILES[shell]}: ${r.stderr}`);
    assert.equal(r.stderr, '');
  }
});

test('bash (without the bash-completion package): commands, options, option values, contexts, cached flags', (t) => {
  if (need(t, 'bash')) return;
  assert.doesNotMatch(fs.readFileSync(file('bash'), 'utf8'), /_init_completion|_get_comp_words_by_ref|__ltrim_colon/);
  const env = completionHome(t);
  assert.deepEqual(bashComplete(env, ['opsctl', 'mig']), ['migrate']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'migrate', '']), ['status', 'plan', 'up', 'down']);
  assert.deepEqual(bashComplete(env, ['opsctl', '-o', '']), ['table', 'json']);
  assert.deepEqual(bashComplete(env, ['opsctl', '--output', '=', 'j']), ['json']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'context', 'use', '']), ['prod', 'staging']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'flags', 'get', '']), ['maintenance_mode', 'discount_percent', 'max_page_size']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'flags', 'get', 'ma']), ['maintenance_mode', 'max_page_size']);
  assert.deepEqual(bashComplete(env, ['opsctl', '--context', 'staging', 'flags', 'get', '']), [], 'staging has nothing cached');
  // --host: the context's hosts, a comma list continued, --host=.
  assert.deepEqual(bashComplete(env, ['opsctl', 'health', '--host', '']), ['app1', 'app3']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'health', '--host', 'app3,']), ['app3,app1']);
  assert.deepEqual(bashComplete(env, ['opsctl', 'health', '--host', '=', 'app']), ['app1', 'app3']);
  assert.deepEqual(bashComplete(env, ['opsctl', '--context', 'staging', 'health', '--host', '']), ['app2', 'app4']);
  // File names where a path is expected, straight from bash's compgen.
  fs.writeFileSync(path.join(env.HOME!, 'known_hosts.lab'), '');
  assert.deepEqual(bashComplete(env, ['opsctl', '--known-hosts', path.join(env.HOME!, 'known_h')]), [path.join(env.HOME!, 'known_hosts.lab')]);
});

test('fish: complete -C offers commands with descriptions, contexts and cached flags', (t) => {
  if (need(t, 'fish')) return;
  const env = completionHome(t);
  const fish = (line: string) => {
    const r = spawnSync('fish', ['--no-config', '-c', `source ${JSON.stringify(file('fish'))}; complete -C ${JSON.stringify(line)}`], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  const mig = fish('opsctl mig');
  assert.equal(mig.length, 1);
  assert.match(mig[0]!, /^migrate\tDatabase migrations/);
  assert.deepEqual(fish('opsctl migrate ').map((l) => l.split('\t')[0]), ['down', 'plan', 'status', 'up']);
  assert.deepEqual(fish('opsctl -o ').map((l) => l.split('\t')[0]).sort(), ['json', 'table']);
  assert.deepEqual(fish('opsctl context use ').map((l) => l.split('\t')[0]), ['prod', 'staging']);
  assert.deepEqual(fish('opsctl flags get ').map((l) => l.split('\t')[0]).sort(), ['discount_percent', 'maintenance_mode', 'max_page_size']);
  assert.deepEqual(fish('opsctl health --host '), ['app1\thost of context prod', 'app3\thost of context prod']);
  assert.deepEqual(fish('opsctl --context staging health --host app2,').map((l) => l.split('\t')[0]), ['app2,app4']);
});

test('zsh: TAB in a real interactive zsh (tmux) completes commands and cached flags', async (t) => {
  if (need(t, 'zsh') || need(t, 'tmux')) return;
  const env = completionHome(t);
  const { send, screen, waitFor } = await startZsh(t, env.HOME!, file('zsh'), env);
  send('opsctl mig', 'Tab');
  await waitFor(/^ZP> opsctl migrate\s*$/m, '"opsctl migrate "');
  send('C-u');
  send('opsctl flags get ', 'Tab');
  await waitFor(/maintenance_mode/, 'the cached flag names');
  const menu = screen();
  assert.match(menu, /discount_percent/);
  assert.match(menu, /max_page_size/);
  send('C-u');
  send('opsctl health --host ', 'Tab');
  // First TAB inserts what both hosts share, the second lists them.
  await waitFor(/^ZP> opsctl health --host app\s*$/m, 'the common prefix of the context\'s hosts');
  send('Tab');
  await waitFor(/app1.*host of context prod/, 'the context\'s hosts');
  assert.match(screen(), /app3.*host of context prod/);
  send('C-u');
  send('opsctl migrate ', 'Tab');
  await waitFor(/status.*--.*Applied and pending migrations|status\s+--\s+Applied/, 'subcommands with descriptions');
});
