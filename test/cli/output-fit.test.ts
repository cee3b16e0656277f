/**
 * Tables on a narrow terminal (README, "Runbooks"): the identifying column is
 * never cut, free text gives way first (one line ending in "…"), secondary
 * columns are left out with a note, --wide cuts nothing, and piped output
 * stays whole. test/e2e/narrow-terminal.test.ts checks the same in a real
 * 80-column tmux against the demo service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createOutput, fitColumns, type Column } from '../../src/cli/output/output.js';
import { renderFleetHuman } from '../../src/cli/render/fleet-render.js';

const LONG = 'When true, the public write endpoints (POST /orders, POST /orders/{id}/cancel) answer 503; reads keep working.';
const FLAG_COLUMNS: Column[] = [
  { key: 'name', header: 'name', fit: 'id' },
  { key: 'type', header: 'type' },
  { key: 'value', header: 'value' },
  { key: 'allowed', header: 'allowed' },
  { key: 'updatedBy', header: 'updated by', optional: true },
  { key: 'updatedAt', header: 'updated at', optional: true },
  { key: 'description', header: 'description', fit: 'text' },
];
const FLAGS = [
  { name: 'maintenance_mode', type: 'boolean', value: false, allowed: 'true|false', updatedBy: 'demo-operator', updatedAt: '2026-12-06T20:30:34.212Z', description: LONG },
  { name: 'a_rather_long_flag_name_for_rollouts', type: 'percentage', value: 20, allowed: '0..100', updatedBy: 'alice', updatedAt: '2026-12-06T20:30:32.277Z', description: 'Share of customers' },
];

function terminal(columns: number) {
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns });
  const stderr = new PassThrough();
  const io = { stdin: new PassThrough(), stdout, stderr, env: {} };
  return { io, stdout: () => String(stdout.read() ?? ''), stderr: () => String(stderr.read() ?? '') };
}

test('fitColumns: a table that fits is left alone', () => {
  assert.deepEqual(fitColumns([{ header: 'a' }, { header: 'b' }], [['a', 'b'], ['x', 'y']], 80), { keep: [0, 1], dropped: [], wordWrap: false });
  assert.deepEqual(fitColumns([{ header: 'a' }], [['a']], undefined), { keep: [0], dropped: [], wordWrap: false });
});

test('fitColumns: text gives way first, then optional columns go (last first), the id column is never cut', () => {
  const cells = [FLAG_COLUMNS.map((c) => c.header), ...FLAGS.map((f) => FLAG_COLUMNS.map((c) => String(f[c.key as keyof typeof f])))];
  const fit = fitColumns(FLAG_COLUMNS, cells, 80);
  assert.deepEqual(fit.dropped, ['updated by', 'updated at']);
  assert.deepEqual(fit.keep, [0, 1, 2, 3, 6]);
  assert.equal(fit.wordWrap, false, 'cut, not wrapped');
  const widths = fit.colWidths!;
  assert.ok(widths.reduce((a, b) => a + b, 0) + widths.length + 1 <= 80, `fits: ${widths}`);
  assert.equal(widths[0], 'a_rather_long_flag_name_for_rollouts'.length + 2, 'the name column keeps its whole width');
  // A wider terminal keeps "updated by" and leaves out only "updated at".
  assert.deepEqual(fitColumns(FLAG_COLUMNS, cells, 120).dropped, ['updated at']);
  // Even when the id column alone is wider than the terminal, it is not cut.
  const narrow = fitColumns(FLAG_COLUMNS, cells, 30);
  assert.equal(narrow.colWidths![0], 'a_rather_long_flag_name_for_rollouts'.length + 2);
});

test('fitColumns: a table that marks no id keeps its first column whole; --wide leaves out nothing and narrows no column below its longest word', () => {
  const cols = [{ header: 'migration' }, { header: 'state' }, { header: 'detail', fit: 'text' as const }];
  const cells = [['migration', 'state', 'detail'], ['0003-create-orders-and-their-indexes', 'pending', LONG]];
  const fit = fitColumns(cols, cells, 50);
  assert.equal(fit.colWidths![0], '0003-create-orders-and-their-indexes'.length + 2);
  const wide = fitColumns(FLAG_COLUMNS, [FLAG_COLUMNS.map((c) => c.header), ...FLAGS.map((f) => FLAG_COLUMNS.map((c) => String(f[c.key as keyof typeof f])))], 80, { wide: true });
  assert.deepEqual(wide.dropped, []);
  assert.equal(wide.keep.length, FLAG_COLUMNS.length);
  assert.equal(wide.wordWrap, true);
  assert.ok(wide.colWidths!.every((w, i) => w - 2 >= Math.max(...FLAGS.map((f) => Math.max(...String(f[FLAG_COLUMNS[i]!.key as keyof typeof f]).split(/\s+/).map((x) => x.length))))), `no word is cut: ${wide.colWidths}`);
});

test('a terminal table of 80 columns: names whole, descriptions cut with … on one line, a note names what was left out', async () => {
  const t = terminal(80);
  const out = await createOutput(t.io, 'table', false);
  out.table(FLAGS, FLAG_COLUMNS);
  const lines = t.stdout().trimEnd().split('\n');
  for (const l of lines) assert.ok(l.length <= 80, `line of ${l.length}: ${l}`);
  assert.equal(lines.length, 2 + 1 + FLAGS.length, `one line per row:\n${lines.join('\n')}`);
  assert.ok(lines.some((l) => l.includes('│ maintenance_mode ')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('│ a_rather_long_flag_name_for_rollouts ')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('When true,') && l.includes('…')), lines.join('\n'));
  assert.match(t.stderr(), /updated by, updated at left out to fit 80 columns; --wide shows everything/);
});

test('--wide: every cell whole (wrapped), no column left out; piped: whole, one row per line', async () => {
  const t = terminal(80);
  const out = await createOutput(t.io, 'table', false, { wide: true });
  out.table(FLAGS, FLAG_COLUMNS);
  const text = t.stdout();
  assert.doesNotMatch(text, /…/);
  for (const word of LONG.split(' ')) assert.ok(text.includes(word), `"${word}" shown:\n${text}`);
  assert.ok(text.includes('2026-12-06T20:30:34.212Z') && text.includes('demo-operator'), text);
  assert.equal(t.stderr(), '');

  const stdout = new PassThrough();
  const piped = await createOutput({ stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} }, 'table', false);
  piped.table(FLAGS, FLAG_COLUMNS);
  const lines = String(stdout.read()).trimEnd().split('\n');
  assert.equal(lines.length, 1 + FLAGS.length);
  assert.ok(lines[1]!.endsWith(LONG), lines[1]);
});

test('a fleet table keeps the HOST column and the item name whole in 80 columns', async () => {
  const t = terminal(80);
  const out = await createOutput(t.io, 'table', false);
  const host = 'ops@app-0042.eu-west-1:2222';
  renderFleetHuman(out, [
    { host, status: 'ok', exitCode: 0, items: [{ kind: 'table', rows: [FLAGS[0]!], columns: FLAG_COLUMNS }] },
    { host: 'app2', status: 'ok', exitCode: 0, items: [{ kind: 'table', rows: [FLAGS[0]!], columns: FLAG_COLUMNS }] },
  ]);
  const lines = t.stdout().trimEnd().split('\n');
  for (const l of lines) assert.ok(l.length <= 80, `line of ${l.length}: ${l}`);
  assert.ok(lines.some((l) => l.includes(host) && l.includes('maintenance_mode')), lines.join('\n'));
});
