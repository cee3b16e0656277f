/**
 * flags set/enable/disable against a real internal port: VALUE typed by the
 * flag's own type, old → new, the server's validation, roles and --reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness } from '../helpers/cli-harness.js';

const h = fileHarness();

const value = (name: string) => h.port.flags.get(name);

test('set types VALUE by the flag and shows old → new', async () => {
  const b = await h.run(['flags', 'set', 'maintenance_mode', 'on'], { as: 'operator' });
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, 'maintenance_mode: false → true\n');
  assert.equal(value('maintenance_mode'), true);

  const p = await h.run(['-o', 'json', 'flags', 'set', 'discount_percent', '25%'], { as: 'operator' });
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual({ old: p.json().old, new: p.json().new }, { old: 0, new: 25 });
  assert.equal(p.json().flag.updatedBy, 'oscar');
  assert.equal(value('discount_percent'), 25);

  const n = await h.run(['flags', 'set', 'max_page_size', '200'], { as: 'operator' });
  assert.equal(n.stdout, 'max_page_size: 50 → 200\n');
  assert.equal(value('max_page_size'), 200);

  const s = await h.run(['flags', 'set', 'greeting', '42'], { as: 'operator' });
  assert.equal(s.stdout, 'greeting: "hello" → "42"\n', 'a string flag keeps "42" a string');
  assert.equal(value('greeting'), '42');
});

test('enable/disable for boolean flags only', async () => {
  assert.equal((await h.run(['flags', 'disable', 'maintenance_mode'], { as: 'operator' })).code, 0);
  assert.equal(value('maintenance_mode'), false);
  const e = await h.run(['flags', 'enable', 'maintenance_mode'], { as: 'operator' });
  assert.equal(e.stdout, 'maintenance_mode: false → true\n');
  const again = await h.run(['flags', 'enable', 'maintenance_mode'], { as: 'operator' });
  assert.match(again.stderr, /value unchanged/);
  const wrong = await h.run(['flags', 'enable', 'discount_percent'], { as: 'operator' });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /flag "discount_percent" is a percentage, not a boolean/);
  // The CLI quotes the name as the server's refusals do (no flag named "…"), and English gets its article.
  const integer = await h.run(['flags', 'enable', 'max_page_size'], { as: 'operator' });
  assert.equal(integer.code, 2);
  assert.match(integer.stderr, /flag "max_page_size" is an integer, not a boolean/);
  const unknown = await h.run(['flags', 'get', 'no_such_flag']);
  assert.match(unknown.stderr, /no flag named "no_such_flag"/);
});

test('bad values: usage errors before the write; range checks by the server (exit 2 naming the field)', async () => {
  const before = value('discount_percent');
  for (const [argv, re] of [
    [['flags', 'set', 'maintenance_mode', 'perhaps'], /is a boolean: use true\/false/],
    [['flags', 'set', 'discount_percent', '150'], /expected 0-100/],
    [['flags', 'set', 'max_page_size', 'lots'], /expected a number/],
  ] as Array<[string[], RegExp]>) {
    const r = await h.run(argv, { as: 'operator' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  const range = await h.run(['flags', 'set', 'max_page_size', '999'], { as: 'operator' });
  // A value the server refuses (400 request.invalid) is a usage error: exit 2.
  assert.equal(range.code, 2, range.stderr);
  assert.match(range.stderr, /flag "max_page_size" must be at most 500 \(1\.\.500\), got 999 \(field: value\) \[request\.invalid, HTTP 400\]/);
  const half = await h.run(['flags', 'set', 'max_page_size', '1.5'], { as: 'operator' });
  assert.equal(half.code, range.code, half.stderr);
  assert.match(half.stderr, /flag "max_page_size" is an integer \(1\.\.500\): 1\.5 is not a whole number/, 'the server\'s message, naming type and bounds');
  assert.equal(half.stdout, '');
  assert.notEqual(value('max_page_size'), 1.5);
  const unknown = await h.run(['flags', 'get', 'nope']);
  // A name the operator typed that does not exist: a usage error (exit 2).
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /not_found, HTTP 404/);
  assert.equal(value('discount_percent'), before);
});

test('a viewer cannot set flags (3); a require-reason context needs --reason, which reaches the audit log', async () => {
  const viewer = await h.run(['flags', 'set', 'greeting', 'hi'], { as: 'viewer' });
  assert.equal(viewer.code, 3);
  const strict = await h.run(['--context', 'strict', 'flags', 'set', 'greeting', 'hi'], { as: 'operator' });
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /context "strict" requires --reason for changing flag "greeting"/);
  assert.notEqual(value('greeting'), 'hi');
  const ok = await h.run(['--context', 'strict', '--reason', 'INC-12 banner', 'flags', 'set', 'greeting', 'hi'], { as: 'operator' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(value('greeting'), 'hi');
  const rec = (await h.auditSettled()).filter((r) => r.endpoint === 'flags.set').pop()!;
  assert.equal(rec.reason, 'INC-12 banner');
  assert.equal(rec.principal, 'oscar');
});

test('get and list show what a flag accepts: bounds, enum, true|false', async () => {
  const get = await h.run(['flags', 'get', 'max_page_size']);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /^type\s+integer$/m);
  assert.match(get.stdout, /^allowed\s+1\.\.500$/m);
  assert.match(get.stdout, /^default\s+50$/m);
  const json = (await h.run(['-o', 'json', 'flags', 'get', 'max_page_size'])).json();
  assert.deepEqual({ type: json.type, min: json.min, max: json.max, default: json.default }, { type: 'integer', min: 1, max: 500, default: 50 });
  const greeting = await h.run(['flags', 'get', 'greeting']);
  assert.match(greeting.stdout, /^allowed\s+any string$/m);
  const list = (await h.run(['-o', 'json', 'flags', 'list'])).json();
  assert.deepEqual(list.flags.find((x: { name: string }) => x.name === 'discount_percent').max, 100);
});
