import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceValue, parseParams, parseBoolean, missingRequired } from '../../src/cli/params/parse-params.js';
import { coerceFlagValue } from '../../src/cli/commands/flags/flag-types.js';
import { filterPrometheusText, filterJsonMetrics } from '../../src/cli/commands/metrics/prometheus-filter.js';
import type { JsonSchema } from '../../src/protocol/catalog.js';

const schema: JsonSchema = {
  type: 'object',
  properties: {
    n: { type: 'integer' },
    x: { type: 'number' },
    b: { type: 'boolean' },
    s: { type: 'string' },
    o: { type: 'object' },
    a: { type: 'array' },
    u: { type: ['boolean', 'number', 'string'] },
  },
  required: ['n'],
  additionalProperties: false,
};

test('--param values are typed by the schema', () => {
  const p = parseParams(['n=5', 'x=2.5', 'b=off', 's=007', 'o={"k":1}', 'a=[1,"2"]', 'u=true'], schema, { subject: 'test' });
  assert.deepEqual(p, { n: 5, x: 2.5, b: false, s: '007', o: { k: 1 }, a: [1, '2'], u: true });
  // A union falls back to the string as typed; `=` inside a value is kept.
  assert.deepEqual(parseParams(['u=a=b', 'n=1'], schema, { subject: 'test' }), { u: 'a=b', n: 1 });
  assert.equal(coerceValue('u', '42', schema.properties!.u), 42);
});

test('bad --param input is a usage error naming the param', () => {
  const bad: Array<[string[], RegExp]> = [
    [['n=1.5'], /--param n: expected an integer/],
    [['x=abc'], /--param x: expected a number/],
    [['b=maybe'], /--param b: expected a boolean/],
    [['o=[1]'], /--param o: expected a JSON object/],
    [['a={"k":1}'], /--param a: expected a JSON array/],
    [['nope=1'], /unknown param "nope" for test; known: n, x, b, s, o, a, u/],
    [['n'], /--param expects NAME=VALUE/],
    [['n=1', 'n=2'], /--param n given twice/],
  ];
  for (const [pairs, re] of bad) {
    assert.throws(() => parseParams(pairs, schema, { subject: 'test' }), (e: Error) => e.name === 'UsageError' && re.test(e.message), pairs.join(' '));
  }
  assert.throws(() => parseParams(['name=x'], schema, { subject: 'test', omit: ['name'] }), /command's own argument/);
});

test('schemas that allow extra params take them as JSON or text', () => {
  const open: JsonSchema = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true };
  assert.deepEqual(parseParams(['z=3', 'w=hi'], open, { subject: 't' }), { z: 3, w: 'hi' });
  assert.deepEqual(parseParams(['z=3'], { type: 'object' }, { subject: 't' }), { z: 3 });
});

test('booleans, required params, flag values', () => {
  for (const t of ['true', 'on', 'YES', '1']) assert.equal(parseBoolean(t), true);
  for (const t of ['false', 'Off', 'no', '0']) assert.equal(parseBoolean(t), false);
  assert.equal(parseBoolean('2'), undefined);
  assert.deepEqual(missingRequired({}, schema), ['n']);
  const flag = (type: string) => ({ name: 'f', type, value: 0 });
  assert.equal(coerceFlagValue(flag('boolean'), 'on'), true);
  assert.equal(coerceFlagValue(flag('percentage'), '25%'), 25);
  assert.equal(coerceFlagValue(flag('number'), ' 7 '), 7);
  assert.equal(coerceFlagValue(flag('string'), ' x '), ' x ');
  assert.throws(() => coerceFlagValue(flag('percentage'), '101'), /0-100/);
  assert.throws(() => coerceFlagValue(flag('boolean'), 'yep'), /is a boolean/);
  assert.throws(() => coerceFlagValue(flag('number'), ''), /expected a number/);
  assert.equal(coerceFlagValue(flag('integer'), '1.5'), 1.5, 'whole-number and bound checks are the server\'s, so its message is the one shown');
  assert.throws(() => coerceFlagValue({ name: 'f', type: 'integer', min: 1, max: 500 }, '1e999'), /is an integer \(1\.\.500\): "1e999" is too large to be a number/);
  assert.throws(() => coerceFlagValue({ name: 'f', type: 'integer', min: 1, max: 500 }, 'lots'), /is an integer \(1\.\.500\): expected a number, got "lots"/);
});

test('metric filtering keeps whole families', () => {
  const text = [
    '# HELP http_duration_seconds Request time',
    '# TYPE http_duration_seconds histogram',
    'http_duration_seconds_bucket{le="0.1"} 3',
    'http_duration_seconds_sum 0.2',
    'http_duration_seconds_count 3',
    '# HELP jobs_total Jobs',
    '# TYPE jobs_total counter',
    'jobs_total{state="ok"} 1',
    '',
  ].join('\n');
  const dur = filterPrometheusText(text, /duration/);
  assert.match(dur, /http_duration_seconds_bucket/);
  assert.match(dur, /# TYPE http_duration_seconds histogram/);
  assert.doesNotMatch(dur, /jobs_total/);
  assert.equal(filterPrometheusText(text, /^jobs_total$/), '# HELP jobs_total Jobs\n# TYPE jobs_total counter\njobs_total{state="ok"} 1\n');
  assert.equal(filterPrometheusText(text, /nothing/), '');
  assert.deepEqual(filterJsonMetrics([{ name: 'a_total' }, { name: 'b' }], /^a/).map((m) => m.name), ['a_total']);
});
