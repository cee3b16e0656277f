/**
 * The completion engine (`opsctl __complete`) over the real command tree,
 * with a real config file and a real completion cache in a temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCompletion, joinBashWords } from '../../src/cli/completion/complete.js';
import { scanConfig, scanContextHosts } from '../../src/cli/completion/config-scan.js';
import { recordCompletions, KEYS_CACHE } from '../../src/cli/completion/cache.js';
import type { IOStreams } from '../../src/cli/io.js';

function tempEnv(t: { after(fn: () => void): void }): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-complete-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache') } };
}

async function complete(env: Record<string, string>, shell: string, ...words: string[]): Promise<string[]> {
  let out = '';
  const stdout = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const stderr = new Writable({ write(_c, _e, cb) { cb(); } });
  const io: IOStreams = { stdin: new PassThrough(), stdout, stderr, env };
  const code = await runCompletion([shell, '--', 'opsctl', ...words], io);
  assert.equal(code, 0);
  return out.split('\n').filter(Boolean);
}

const values = (lines: string[]) => lines.map((l) => l.split('\t')[0]);

function writeConfig(env: Record<string, string>, text: string): void {
  const file = path.join(env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

test('commands, subcommands and options come from the command tree', async (t) => {
  const { env } = tempEnv(t);
  assert.deepEqual(await complete(env, 'bash', 'mig'), ['migrate']);
  assert.deepEqual(await complete(env, 'bash', 'migrate', ''), ['status', 'plan', 'up', 'down']);
  const top = values(await complete(env, 'bash', ''));
  for (const noun of ['health', 'doctor', 'migrate', 'flags', 'tasks', 'jobs', 'audit', 'keys', 'context', 'tunnel', 'completion', 'version', 'help']) assert.ok(top.includes(noun), noun);
  assert.ok(!top.includes('__complete'));
  // zsh and fish get descriptions after a TAB.
  const zsh = await complete(env, 'zsh', 'migrate', 'u');
  assert.equal(zsh.length, 1);
  assert.match(zsh[0]!, /^up\t\S/);
  // Options: global ones anywhere, local ones of the command, no repeated boolean.
  const opts = values(await complete(env, 'bash', 'migrate', 'up', '--'));
  assert.ok(opts.includes('--to') && opts.includes('--context') && opts.includes('--yes'), opts.join(' '));
  assert.ok(!values(await complete(env, 'bash', '--yes', 'migrate', 'up', '--y')).includes('--yes'));
  assert.deepEqual(values(await complete(env, 'bash', '-')).filter((v) => v === '-o' || v === '--output'), ['--output', '-o']);
});

test('option values: choices, --opt=value, files, identity', async (t) => {
  const { env } = tempEnv(t);
  assert.deepEqual(await complete(env, 'bash', '-o', ''), ['table', 'json']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'list', '--output', 'j'), ['json']);
  assert.deepEqual(await complete(env, 'zsh', '--output=t'), ['--output=table']);
  // Bash splits at '=': the engine glues the pieces and answers relative to bash's own word.
  assert.deepEqual(await complete(env, 'bash', '--output', '=', 't'), ['table']);
  assert.deepEqual(await complete(env, 'bash', '--output', '='), ['=table', '=json']);
  assert.deepEqual(await complete(env, 'bash', '--known-hosts', ''), [':files']);
  assert.deepEqual(await complete(env, 'bash', 'completion', ''), ['bash', 'zsh', 'fish']);
  // A value option eats the next word, so it is not taken for a command.
  assert.deepEqual(await complete(env, 'bash', '--reason', 'migrate', 'mi'), ['migrate']);
  recordCompletions(env, KEYS_CACHE, 'keys', ['alice', 'ops-bot']);
  assert.deepEqual(await complete(env, 'bash', '--identity', ''), ['agent', 'keychain:alice', 'keychain:ops-bot', ':files']);
  assert.deepEqual(await complete(env, 'bash', '--identity', 'keychain', ':', 'a'), ['alice']);
  assert.deepEqual(await complete(env, 'bash', 'keys', 'show', ''), ['alice', 'ops-bot']);
});

test('context names come from the config file, live values from the cache of the selected context', async (t) => {
  const { env } = tempEnv(t);
  writeConfig(env, 'current-context: prod\ncontexts:\n  prod:\n    host:\n      - app1\n  "1.5":\n    host: app2\n  staging:\n    host: app3\n');
  assert.deepEqual(await complete(env, 'zsh', 'context', 'use', ''), ['prod\tcurrent context', '1.5', 'staging']);
  assert.deepEqual(await complete(env, 'bash', '--context', 's'), ['staging']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'get', ''), [], 'nothing cached yet');

  recordCompletions(env, 'prod', 'flags', ['maintenance_mode', 'discount_percent']);
  recordCompletions(env, 'staging', 'flags', ['beta_checkout']);
  recordCompletions(env, 'prod', 'tasks', ['recompute-totals', 'purge-cancelled-orders']);
  recordCompletions(env, 'prod', 'jobs', ['j-1', 'j-2']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'get', ''), ['maintenance_mode', 'discount_percent']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'set', 'd'), ['discount_percent']);
  assert.deepEqual(await complete(env, 'bash', '--context', 'staging', 'flags', 'get', ''), ['beta_checkout']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'get', '--context=staging', ''), ['beta_checkout']);
  assert.deepEqual(await complete({ ...env, OPSCTL_CONTEXT: 'staging' }, 'bash', 'flags', 'enable', ''), ['beta_checkout']);
  assert.deepEqual(await complete(env, 'bash', 'tasks', 'run', 'r'), ['recompute-totals']);
  assert.deepEqual(await complete(env, 'bash', 'jobs', 'status', ''), ['j-1', 'j-2']);
  // A flag's value: nothing until `flags list` cached what each flag accepts.
  assert.deepEqual(await complete(env, 'bash', 'flags', 'set', 'maintenance_mode', ''), []);
  recordCompletions(env, 'prod', 'flag-values', ['maintenance_mode=true', 'maintenance_mode=false', 'mode=normal', 'mode=read-only']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'set', 'maintenance_mode', ''), ['true', 'false']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'set', 'mode', 'r'), ['read-only']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'set', 'discount_percent', ''), [], 'a number has no list of values');
  assert.deepEqual(await complete(env, 'bash', '--context', 'staging', 'flags', 'set', 'maintenance_mode', ''), [], 'per context');
});

test('a config in a style the scanner does not follow still completes (through the YAML parser)', async (t) => {
  const { env } = tempEnv(t);
  writeConfig(env, '{"current-context": "b", "contexts": {"a": {"host": "x"}, "b": {"host": "y"}}}\n');
  assert.equal(scanConfig(fs.readFileSync(path.join(env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml'), 'utf8')), undefined);
  assert.deepEqual(values(await complete(env, 'bash', 'context', 'show', '')), ['a', 'b']);
  recordCompletions(env, 'b', 'flags', ['only_in_b']);
  assert.deepEqual(await complete(env, 'bash', 'flags', 'get', ''), ['only_in_b']);
});

test('a broken config or cache never breaks the prompt', async (t) => {
  const { env } = tempEnv(t);
  writeConfig(env, 'contexts: [unclosed\n');
  assert.deepEqual(await complete(env, 'bash', 'context', 'use', ''), []);
  fs.mkdirSync(path.join(env.XDG_CACHE_HOME!, 'opsctl'), { recursive: true });
  fs.writeFileSync(path.join(env.XDG_CACHE_HOME!, 'opsctl', '_adhoc.json'), '{not json');
  assert.deepEqual(await complete(env, 'bash', 'flags', 'get', ''), []);
  assert.deepEqual(await complete(env, 'bash', 'mig'), ['migrate']);
});

test('the config scanner reads what opsctl writes, and gives up on anything else', () => {
  assert.deepEqual(scanConfig('current-context: prod\ncontexts:\n  prod:\n    host:\n      - a\n  dev:\n    port: 1\n'), { current: 'prod', contexts: ['prod', 'dev'] });
  assert.deepEqual(scanConfig('# comment\ncontexts: {}\n'), { current: undefined, contexts: [] });
  assert.deepEqual(scanConfig("current-context: 'it''s'\ncontexts:\n  \"it's\": {host: a}\n"), { current: "it's", contexts: ["it's"] });
  assert.equal(scanConfig('contexts: {a: {host: x}}\n'), undefined);
  assert.equal(scanConfig('contexts:\n  a: &x\n    host: y\n  b: *x\n'), undefined);
  assert.equal(scanConfig('contexts:\n\ta:\n'), undefined);
});

test('--host offers the hosts of the context the command would use, from the config file only', async (t) => {
  const { env } = tempEnv(t);
  writeConfig(env, [
    'current-context: prod',
    'contexts:',
    '  prod:',
    '    bastion: [jump]',
    '    host: [app1, app2, "app3"]',
    '  staging:',
    '    host:',
    '      - stage1',
    '      - stage2',
    '  solo:',
    '    host: only.example',
    '  none:',
    '    port: 9900',
    '',
  ].join('\n'));
  assert.deepEqual(await complete(env, 'bash', 'health', '--host', ''), ['app1', 'app2', 'app3']);
  assert.deepEqual(await complete(env, 'zsh', 'health', '--host', 'app'), ['app1\thost of context prod', 'app2\thost of context prod', 'app3\thost of context prod']);
  // A comma list completes its last item and leaves out the hosts already named.
  assert.deepEqual(await complete(env, 'bash', 'health', '--host', 'app2,'), ['app2,app1', 'app2,app3']);
  assert.deepEqual(await complete(env, 'bash', 'health', '--host', 'app2,app3,a'), ['app2,app3,app1']);
  assert.deepEqual(await complete(env, 'bash', 'health', '--host=a'), ['--host=app1', '--host=app2', '--host=app3']);
  assert.deepEqual(await complete(env, 'bash', '--context', 'staging', 'health', '--host', ''), ['stage1', 'stage2'], '--context on the line');
  assert.deepEqual(await complete({ ...env, OPSCTL_CONTEXT: 'solo' }, 'bash', 'flags', 'list', '--host', ''), ['only.example'], 'OPSCTL_CONTEXT');
  assert.deepEqual(await complete(env, 'bash', '--context', 'none', 'health', '--host', ''), [], 'a context without hosts');
  assert.deepEqual(await complete(env, 'bash', '--context', 'nope', 'health', '--host', ''), [], 'an unknown context');
  // The same list when only the YAML parser can read the file.
  writeConfig(env, '{"current-context": "a", "contexts": {"a": {"host": ["x1", "x2"]}, "b": {"hosts": "y1,y2"}}}\n');
  assert.deepEqual(await complete(env, 'bash', 'health', '--host', ''), ['x1', 'x2']);
  assert.deepEqual(await complete(env, 'bash', '--context=b', 'health', '--host', ''), ['y1', 'y2'], 'the hosts alias, comma-separated');
});

test('the host scanner reads host lists opsctl and people write, and leaves the rest to the YAML parser', () => {
  const cfg = 'contexts:\n  a:\n    host: [h1, \'h2\']\n    hosts: [ignored]\n  b:\n    hosts:\n    - h3\n    - "h4"\n  c: {host: x}\n  d:\n    host: h5,h6 # two\n';
  assert.deepEqual(scanContextHosts(cfg, 'a'), ['h1', 'h2'], 'flow list; host wins over hosts');
  assert.deepEqual(scanContextHosts(cfg, 'b'), ['h3', 'h4'], 'block list at the key\'s indent');
  assert.equal(scanContextHosts(cfg, 'c'), undefined, 'an inline mapping is for the parser');
  assert.deepEqual(scanContextHosts(cfg, 'd'), ['h5', 'h6'], 'a comma string');
  assert.equal(scanContextHosts(cfg, 'zz'), undefined, 'no such context');
  assert.equal(scanContextHosts('contexts:\n  a:\n    host: [[x]]\n', 'a'), undefined, 'nested flow');
});

test('bash word gluing', () => {
  assert.deepEqual(joinBashWords(['opsctl', '--output', '=', 'js']), { words: ['opsctl', '--output=js'], cut: '--output='.length });
  assert.deepEqual(joinBashWords(['opsctl', '--identity', 'keychain', ':', '']), { words: ['opsctl', '--identity', 'keychain:'], cut: 'keychain:'.length });
  assert.deepEqual(joinBashWords(['opsctl', 'flags', 'get', '']), { words: ['opsctl', 'flags', 'get', ''], cut: 0 });
});
