/**
 * A newcomer's 80-column terminal (a real tmux pane of 80 columns) against
 * the real demo service through two real sshd: every table keeps the names
 * and ids an operator types next whole, nothing wraps onto a second screen
 * line, descriptions end in "…"; --wide, a pipe and -o json show them whole.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, CLI, ROOT, type Stack } from '../helpers/stack.js';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';

let stack: Stack | undefined;
let jobId = '';
let approvalId = '';
before(async (t) => {
  if (requireTmux(t as never)) return;
  const s = (stack = await startStack(t as never));
  if (!s) return;
  s.writeContext('demo');
  const migrated = await s.cli(['migrate', 'up', '--yes']);
  assert.equal(migrated.code, 0, migrated.stderr);
  // A finished job and a held request, so jobs list and approvals list have rows.
  const job = await s.cli(['tasks', 'run', 'recompute-totals', '-o', 'json']);
  assert.equal(job.code, 0, job.stderr);
  jobId = (JSON.parse(job.stdout) as { jobId: string }).jobId;
  const held = await s.cli(['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=30', '--yes', '--no-wait', '-o', 'json']);
  assert.equal(held.code, 0, held.stderr);
  approvalId = (JSON.parse(held.stdout) as { approval: { id: string } }).approval.id;
});
after(async () => {
  await stack?.stop();
});

/**
 * Runs a shell script of opsctl commands in an 80x60 tmux pane; returns each
 * `== name` section of the screen. Unless `mayOverflow`, no line of the
 * screen is wider than 80 columns.
 */
async function inEightyColumns(s: Stack, commands: Array<[string, string]>, mayOverflow = false): Promise<Map<string, string[]>> {
  const script = path.join(s.dir, `narrow-${Date.now()}.sh`);
  fs.writeFileSync(script, [
    `opsctl() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }`,
    ...commands.flatMap(([name, cmd]) => [`echo '== ${name}'`, cmd]),
    "echo '== end'",
  ].join('\n') + '\n');
  const run = runInTerminal(['bash', script], s.env, ROOT, { cols: 80, rows: 60 });
  const { code, screen } = await run.exit(120_000);
  assert.equal(code, 0, screen);
  // -J joins lines the terminal wrapped: a table wider than 80 shows up as a longer line.
  if (!mayOverflow) for (const l of screen.split('\n')) assert.ok([...l].length <= 80, `a line of ${[...l].length} columns:\n${l}\n${screen}`);
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const l of screen.split('\n')) {
    const m = /^== (\S+)$/.exec(l);
    if (m) sections.set(m[1]!, (current = []));
    else current?.push(l);
  }
  return sections;
}

test('80 columns: flag, task, job, approval and endpoint names whole; descriptions cut to one line with …', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const s = await inEightyColumns(stack, [
    ['flags', 'opsctl flags list'],
    ['tasks', 'opsctl tasks list'],
    ['jobs', 'opsctl jobs list'],
    ['approvals', 'opsctl approvals list'],
    ['endpoints', 'opsctl endpoints'],
    ['audit', 'opsctl audit tail -n 5'],
  ]);
  const flags = s.get('flags')!.join('\n');
  for (const name of ['maintenance_mode', 'discount_percent', 'max_page_size']) assert.match(flags, new RegExp(`│ ${name} +│`), flags);
  assert.match(flags, /When true, the[^\n]*…/, flags);
  // One screen line per flag: 3 flags, a header and 2 borders (no wrapped descriptions).
  assert.equal(s.get('flags')!.filter((l) => l.startsWith('│')).length, 4, flags);
  assert.match(flags, /left out to fit 80 columns; --wide shows everything/);

  const tasks = s.get('tasks')!.join('\n');
  for (const name of ['recompute-totals', 'purge-cancelled-orders', 'clear-migration-lock', 'rotate-webhook-secret']) assert.match(tasks, new RegExp(`│ ${name} +│`), tasks);
  assert.equal(s.get('tasks')!.filter((l) => l.startsWith('│')).length, 5, tasks);

  assert.match(s.get('jobs')!.join('\n'), new RegExp(`│ ${jobId} +│`));
  assert.match(s.get('approvals')!.join('\n'), new RegExp(`│ ${approvalId} +│`));
  const endpoints = s.get('endpoints')!.join('\n');
  for (const id of ['migrations.status', 'approvals.approve', 'audit.consistency', 'grants.request']) assert.match(endpoints, new RegExp(`│ ${id.replace('.', '\\.')} +│`), endpoints);
  assert.match(s.get('audit')!.join('\n'), /│ \d+ +│ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
});

test('80 columns with --wide: nothing cut or left out; piped and -o json: whole', async (t) => {
  if (!stack) return t.skip('no tmux/sshd');
  const s = await inEightyColumns(stack, [
    ['wide', 'opsctl --wide tasks list'],
    ['piped', 'opsctl flags list | cat'],
  ], true);
  const wide = s.get('wide')!.join('\n');
  assert.doesNotMatch(wide, /…/, wide);
  for (const word of ['Recompute', 'throttled', 'batches', 'break-glass', 'olderThanDays']) assert.ok(wide.includes(word), `${word}:\n${wide}`);
  // Piped: tab-separated (the pane shows tabs as spaces), one line per flag, the description whole (it is
  // longer than 80 columns, so the pane's -J capture shows the joined line).
  const piped = s.get('piped')!.join('\n');
  assert.match(piped, /^maintenance_mode\s[^\n]*reads keep working\.$/m);
  const json = await stack.cli(['flags', 'list', '-o', 'json']);
  const flags = (JSON.parse(json.stdout) as { flags: Array<{ name: string; description: string }> }).flags;
  assert.ok(flags.find((f) => f.name === 'maintenance_mode')!.description.endsWith('reads keep working.'));
});
