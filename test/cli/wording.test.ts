/**
 * The CLI reads as one voice: every command's --help (defaults written one
 * way and once, opsctl's own words for help, English articles), a noun
 * alone runs its listing, names quoted the same way in the CLI's refusals,
 * commander's and the server's, and table headers spelled the same on a
 * terminal and in a pipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { fileHarness, stripAnsi, testIO } from '../helpers/cli-harness.js';
import { buildProgram } from '../../src/cli/program.js';

const h = fileHarness();

function everyCommand(): Command[] {
  const { program } = buildProgram(testIO({}, false).io);
  const out: Command[] = [program];
  const visit = (c: Command) => c.commands.forEach((s) => { out.push(s); visit(s); });
  visit(program);
  return out;
}

const path = (c: Command): string => (c.parent ? `${path(c.parent)} ${c.name()}` : c.name());

test('help text: defaults as "(default: X)", once; opsctl\'s own words for help; "an integer", never "a integer"', () => {
  for (const cmd of everyCommand()) {
    const help = cmd.helpInformation();
    const where = `opsctl help ${path(cmd)}`;
    assert.doesNotMatch(help, /\(default [^:]/, `${where}: a default written "(default X)"`);
    assert.doesNotMatch(help, /display help for command/, `${where}: commander's own wording`);
    assert.doesNotMatch(help, /\ba (integer|array|object|enum|integer|hour|[aeiou]\w*-?\w*)\b/i, `${where}: "a" before a vowel`);
    for (const o of cmd.options) {
      const text = cmd.createHelp().optionDescription(o);
      assert.ok((text.match(/default/g) ?? []).length <= 1, `${where} ${o.flags}: "${text}" names its default twice`);
    }
  }
});

test('a noun alone runs its listing (tasks → tasks list, migrate → migrate status, audit → audit tail, …)', async () => {
  const listing: Record<string, string> = { flags: 'list', tasks: 'list', jobs: 'list', approvals: 'list', grants: 'list', keys: 'list', context: 'list', migrate: 'status', audit: 'tail', notify: 'status' };
  const nouns = everyCommand().filter((c) => c.parent && !c.parent.parent && c.commands.length);
  assert.deepEqual(nouns.map((n) => n.name()).sort(), Object.keys(listing).sort(), 'every noun has its listing decided');
  for (const noun of nouns) {
    assert.equal((noun as unknown as { _defaultCommandName: string })._defaultCommandName, listing[noun.name()], noun.name());
    assert.match(noun.helpInformation() + (await helpAfter(noun)), new RegExp(`With no command, opsctl ${noun.name()} runs opsctl ${noun.name()} ${listing[noun.name()]}\\.`));
  }
  for (const [noun, verb] of [['tasks', 'list'], ['flags', 'list'], ['migrate', 'status'], ['audit', 'tail'], ['context', 'list'], ['jobs', 'list']]) {
    const alone = await h.run(['-o', 'json', noun!]);
    const explicit = await h.run(['-o', 'json', noun!, verb!]);
    assert.equal(alone.code, 0, `${noun}: ${alone.stderr}`);
    assert.deepEqual(Object.keys(alone.json()), Object.keys(explicit.json()), `opsctl ${noun} is opsctl ${noun} ${verb}`);
  }
  const tasks = await h.run(['tasks']);
  assert.match(tasks.stdout, /^NAME\t/, 'the task list, not the help');
  const typo = await h.run(['tasks', 'lsit']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command "lsit"/);
  const help = await h.run(['tasks', 'help']);
  assert.equal(help.code, 2, 'one help command, the root\'s: opsctl help tasks');
});

async function helpAfter(cmd: Command): Promise<string> {
  let text = '';
  (cmd as unknown as { emit(e: string, ctx: object): void }).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text;
}

test('names are quoted alike in the CLI\'s refusals, commander\'s and the server\'s', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['flags', 'get', 'no_such_flag'], /no flag named "no_such_flag"/], // the server
    [['flags', 'enable', 'greeting'], /flag "greeting" is a string, not a boolean/], // the CLI
    [['jobs', 'status', 'nosuchjob1'], /no job "nosuchjob1"/], // the server
    [['tasks', 'run', 'nosuch'], /no task named "nosuch"/], // the CLI
    [['flgs'], /unknown command "flgs"/], // commander
    [['flags', 'list', '--wat'], /unknown option "--wat"/], // commander
    [['approvals', 'show', 'nosuchapproval'], /no approval "nosuchapproval"/], // the server
  ];
  for (const [argv, re] of cases) {
    const r = await h.run(argv, { as: 'admin' });
    assert.notEqual(r.code, 0, argv.join(' '));
    assert.match(r.stderr, re, `${argv.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /'[^'\s]+'/, `${argv.join(' ')}: no single-quoted names`);
  }
  const json = await h.run(['-o', 'json', 'flgs']);
  assert.match(JSON.parse(json.stderr).error.message, /^unknown command "flgs"/);
});

test('table headers are upper case on a terminal as in a pipe', async () => {
  const piped = await h.run(['flags', 'list']);
  const tty = await h.run(['flags', 'list'], { tty: true });
  const pipedHeader = piped.stdout.split('\n')[0]!.split('\t');
  const ttyHeader = stripAnsi(tty.stdout).split('\n').find((l) => l.includes('│'))!.split('│').map((s) => s.trim()).filter(Boolean);
  assert.deepEqual(ttyHeader, pipedHeader);
  assert.ok(ttyHeader.includes('NAME'), ttyHeader.join(' '));
});
