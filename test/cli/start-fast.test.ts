/**
 * The start-up path (src/cli/start) answers --help and TAB without
 * commander or the command tree; these tests hold it to the full CLI's
 * answers, byte for byte: every command's help at several widths, the root
 * help with and without service commands, and TAB on many lines, with a
 * real config and real caches. The built binary is checked too: what
 * `node bin/opsctl.js --help` prints through start.cjs is what main() prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { main } from '../../src/cli/main.js';
import { runCompletion } from '../../src/cli/completion/complete.js';
import { commandModel, type CommandModel } from '../../src/cli/completion/tree.js';
import { startData } from '../../src/cli/start/snapshot.js';
import { startFast, helpTarget } from '../../src/cli/start/start.js';
import { captureLayout } from '../../src/cli/start/help-capture.js';
import { renderHelp } from '../../src/cli/start/help-render.js';
import { loadModel, type StartData } from '../../src/cli/start/start-data.js';
import { addServiceModels } from '../../src/cli/start/service-model.js';
import { serviceCommandSet } from '../../src/cli/service-commands/load.js';
import { recordCompletions } from '../../src/cli/completion/cache.js';
import type { IOStreams } from '../../src/cli/io.js';
import { ensureBuilt, ROOT } from '../helpers/stack.js';

const data: StartData = startData('test-build');

function sink(): { stream: Writable; text(): string } {
  let out = '';
  return { stream: new Writable({ write(c, _e, cb) { out += String(c); cb(); } }), text: () => out };
}

function home(t: { after(fn: () => void): void }): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-start-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: process.env.PATH ?? '' };
  fs.mkdirSync(path.join(env.XDG_CONFIG_HOME, 'opsctl'), { recursive: true });
  fs.writeFileSync(path.join(env.XDG_CONFIG_HOME, 'opsctl', 'config.yaml'), 'current-context: prod\ncontexts:\n  prod:\n    host:\n      - app1\n      - app3\n  staging:\n    host: [app2]\n');
  return env;
}

function cacheCatalog(env: Record<string, string>, context: string): void {
  const dir = path.join(env.XDG_CACHE_HOME!, 'opsctl');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, `${context}.catalog.json`), JSON.stringify({
    updatedAt: '2026-01-02T03:04:05.000Z', service: 'lb-service', version: '2.1',
    endpoints: [
      { id: 'lb.list', method: 'GET', path: '/v1/lb', summary: 'Backends', description: '', role: 'viewer', destructive: false, job: false, scope: 'instance', params: { type: 'object', properties: {}, additionalProperties: false } },
      { id: 'lb.weight', method: 'POST', path: '/v1/lb/weight', summary: 'Set a backend weight somewhat verbosely described so that it wraps in eighty columns', description: 'Sends it.', role: 'operator', destructive: true, job: false, scope: 'instance',
        params: { type: 'object', properties: { server: { type: 'string', enum: ['web1', 'web2'] }, weight: { type: 'integer', minimum: 0, maximum: 256, default: 10 }, drain: { type: 'boolean' }, token: { type: 'string', secret: true }, port: { type: 'integer' } }, required: ['server'], additionalProperties: false } },
      { id: 'reindex', method: 'POST', path: '/v1/reindex', summary: 'Rebuild the index', description: '', role: 'operator', destructive: false, job: true, scope: 'service', params: { type: 'object', properties: { shards: { type: 'integer' } }, additionalProperties: false } },
      { id: 'a.very-long-noun-name-that-widens-the-term-column.go', method: 'GET', path: '/v1/x', summary: 'Wide', description: '', role: 'viewer', destructive: false, job: false, scope: 'instance', params: { type: 'object', properties: {}, additionalProperties: false } },
      { id: 'flags.export', method: 'GET', path: '/v1/fx', summary: 'Collides', description: '', role: 'viewer', destructive: false, job: false, scope: 'instance', params: { type: 'object', properties: {}, additionalProperties: false } },
    ],
  }));
}

async function fast(argv: string[], env: Record<string, string>): Promise<{ code: number | undefined; out: string }> {
  const out = sink();
  const err = sink();
  const p = startFast(argv, { stdout: out.stream, stderr: err.stream, env }, data);
  if (!p) return { code: undefined, out: '' };
  return { code: await p, out: out.text() };
}

async function full(argv: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const out = sink();
  const err = sink();
  const io: IOStreams = { stdin: new PassThrough(), stdout: out.stream, stderr: err.stream, env };
  return { code: await main(argv, io), out: out.text() };
}

function everyPath(): string[][] {
  const { program } = buildProgram({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} });
  const out: string[][] = [];
  const visit = (c: Command, p: string[]) => c.commands.forEach((s) => { out.push([...p, s.name()]); visit(s, [...p, s.name()]); });
  visit(program, []);
  return out;
}

test('the layout renderer is commander\'s: every command\'s help at widths 30 to 200', () => {
  const { program } = buildProgram({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} });
  const all: Command[] = [program];
  const visit = (c: Command) => c.commands.forEach((s) => { all.push(s); visit(s); });
  visit(program);
  for (const cmd of all) {
    for (const width of [30, 60, 80, 117, 200]) {
      cmd.configureOutput({ getOutHelpWidth: () => width });
      assert.equal(renderHelp(captureLayout(cmd), width), cmd.helpInformation(), `${cmd.name()} at ${width}`);
    }
  }
});

test('--help, help COMMAND and COMMAND --help: the start-up path prints what the full CLI prints', async (t) => {
  const env = home(t);
  for (const p of everyPath()) {
    for (const argv of [[...p, '--help'], ['help', ...p], [...p, '-h']]) {
      const a = await fast(argv, env);
      const b = await full(argv, env);
      assert.equal(a.code, 0, argv.join(' '));
      assert.equal(a.out, b.out, argv.join(' '));
      assert.equal(b.code, 0);
    }
  }
  // The root, without a cache and with one (service commands, a collision, a wide term).
  for (const argv of [[], ['--help'], ['-h'], ['help']]) assert.equal((await fast(argv, env)).out, (await full(argv, env)).out, `[${argv.join(' ')}] no cache`);
  cacheCatalog(env, 'prod');
  const withServices = await fast(['--help'], env);
  assert.match(withServices.out, /Service commands:\n {2}lb +lb-service endpoints: list, weight\n {2}reindex \[options\] +Rebuild the index\n/);
  for (const argv of [[], ['--help'], ['help']]) assert.equal((await fast(argv, env)).out, (await full(argv, env)).out, `[${argv.join(' ')}] with service commands`);
  // OPSCTL_CONTEXT selects another context's cache (none): no service commands.
  const staging = { ...env, OPSCTL_CONTEXT: 'staging' };
  assert.equal((await fast(['--help'], staging)).out, (await full(['--help'], staging)).out);
  assert.doesNotMatch((await fast(['--help'], staging)).out, /lb-service/);
});

test('what the start-up path leaves to the full CLI: service command help, options before --help, typos, other commands', async (t) => {
  const env = home(t);
  cacheCatalog(env, 'prod');
  for (const argv of [['lb', 'weight', '--help'], ['lb', '--help'], ['--context', 'staging', '--help'], ['flgs', '--help'], ['help', 'nosuch'], ['health'], ['version'], ['flags', 'list']]) {
    assert.equal(startFast(argv, { stdout: sink().stream, stderr: sink().stream, env }, data), undefined, argv.join(' '));
  }
  assert.deepEqual(helpTarget(['tasks', 'ls', '--help'], loadModel(data.tree)), ['tasks', 'list'], 'aliases resolve');
  assert.equal(startFast(['--help'], { stdout: sink().stream, stderr: sink().stream, env }, undefined), undefined, 'no data: the full CLI');
});

test('TAB: the start-up path completes exactly as the full CLI, service commands included', async (t) => {
  const env = home(t);
  cacheCatalog(env, 'prod');
  recordCompletions(env, 'prod', 'flags', ['maintenance_mode', 'max_page_size']);
  const lines = [
    [''], ['mig'], ['migrate', ''], ['-o', ''], ['--output=j'], ['flags', 'get', ''], ['flags', 'get', 'ma'], ['health', '--host', ''], ['health', '--host', 'app1,'],
    ['context', 'use', ''], ['--context', 'staging', ''], ['lb', ''], ['lb', 'weight', '--'], ['lb', 'weight', '--server', ''], ['lb', 'weight', '--server=w'],
    ['reindex', '-'], ['a', ''], ['--context', 'staging', 'lb', ''], ['flags', ''], ['help', ''], ['completion', ''], ['--identity', ''],
  ];
  for (const words of lines) {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const args = ['__complete', shell, '--', 'opsctl', ...words];
      const a = await fast(args, env);
      const out = sink();
      const b = await runCompletion(args.slice(1), { stdin: new PassThrough(), stdout: out.stream, stderr: sink().stream, env });
      assert.equal(a.code, b);
      assert.equal(a.out, out.text(), `${shell}: opsctl ${words.join(' ')}`);
    }
  }
  assert.match((await fast(['__complete', 'bash', '--', 'opsctl', 'lb', 'weight', '--server', ''], env)).out, /^web1\nweb2\n$/);
});

test('the service commands\' completion model equals what commander holds after registering them', async (t) => {
  const env = home(t);
  cacheCatalog(env, 'prod');
  const built = buildProgram({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env });
  await built.addServiceCommands([]);
  const strip = (m: CommandModel): unknown => ({ ...m, parent: undefined, commands: m.commands.map(strip) });
  const viaCommander = commandModel(built.program).commands.filter((c) => ['lb', 'reindex', 'a'].includes(c.name));
  const base = loadModel(data.tree);
  const root = { ...base, commands: [...base.commands] };
  const set = serviceCommandSet(env, 'prod', new Set(data.builtins), new Set(data.reserved))!;
  addServiceModels(root, set, root.options.find((o) => o.long === '--help')!);
  const viaSpecs = root.commands.filter((c) => ['lb', 'reindex', 'a'].includes(c.name));
  assert.deepEqual(viaSpecs.map(strip), viaCommander.map(strip));
});

test('the built binary: start.cjs and its data print what main() prints; bundle and data carry one build id', async (t) => {
  ensureBuilt();
  const env = home(t);
  cacheCatalog(env, 'prod');
  const bin = (argv: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/opsctl.js'), ...argv], { cwd: ROOT, env, encoding: 'utf8' });
  for (const argv of [['--help'], ['migrate', 'up', '--help'], ['help', 'flags'], ['__complete', 'fish', '--', 'opsctl', 'lb', 'weight', '--server', '']]) {
    const r = bin(argv);
    assert.equal(r.status, 0, r.stderr);
    const expected = argv[0] === '__complete' ? await (async () => {
      const out = sink();
      await runCompletion(argv.slice(1), { stdin: new PassThrough(), stdout: out.stream, stderr: sink().stream, env });
      return out.text();
    })() : (await full(argv, env)).out;
    assert.equal(r.stdout, expected, argv.join(' '));
  }
  const built = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/cli/start-data.json'), 'utf8')) as StartData;
  assert.match(built.build, /^[0-9a-f]{16}$/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/cli/start-help.json'), 'utf8')).build, built.build);
  assert.equal(built.help, undefined, 'TAB reads no help text');
  assert.match(fs.readFileSync(path.join(ROOT, 'dist/cli/start.cjs'), 'utf8'), new RegExp(`"${built.build}"`), 'the bundle and its data carry one build id');
});
