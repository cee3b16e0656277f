import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createOutput, fitWidths } from '../../src/cli/output/output.js';

test('fitWidths leaves a table that fits alone and shrinks the widest column of one that does not', () => {
  assert.deepEqual(fitWidths([['a', 'b'], ['x', 'y']], 80), {});
  assert.deepEqual(fitWidths([['a', 'b']], undefined), {});
  const long = 'word '.repeat(40).trim();
  const fit = fitWidths([['name', 'description'], ['flag_one', long]], 60);
  assert.equal(fit.wordWrap, true);
  const total = fit.colWidths!.reduce((a, b) => a + b, 0) + fit.colWidths!.length + 1;
  assert.ok(total <= 60, `table is ${total} wide`);
  assert.equal(fit.colWidths![0], 'flag_one'.length + 2, 'the narrow column keeps its width');
});

test('a terminal table is drawn within the terminal width', async () => {
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 70 });
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} };
  const out = await createOutput(io, 'table', false);
  out.table([{ name: 'maintenance_mode', description: 'When true, the public write endpoints answer 503; reads keep working. '.repeat(2) }], [
    { key: 'name', header: 'name' },
    { key: 'description', header: 'description' },
  ]);
  const lines = String(stdout.read()).trimEnd().split('\n');
  assert.ok(lines.length > 4, 'the description wrapped onto several lines');
  for (const l of lines) assert.ok(l.length <= 70, `line of ${l.length}: ${l}`);
});
