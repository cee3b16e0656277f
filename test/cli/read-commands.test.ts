/**
 * The read-only commands against a real internal port: table (terminal and
 * piped) and JSON output, JSON purity, the completion cache, and the exit
 * codes for usage errors (2) and denied keys (3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileHarness, stripAnsi } from '../helpers/cli-harness.js';

const h = fileHarness();

function cache(context = 'test'): { values: Record<string, string[]> } {
  return JSON.parse(fs.readFileSync(path.join(h.env.XDG_CACHE_HOME!, 'opsctl', `${context}.json`), 'utf8'));
}

test('health: fields piped, one JSON document with -o json', async () => {
  const r = await h.run(['health']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^service\s+cli-test 9\.9\.9$/m);
  const j = await h.run(['-o', 'json', 'health']);
  assert.equal(j.code, 0);
  assert.equal(j.json().service, 'cli-test');
  assert.equal(j.json().protocol, 1);
});

test('endpoints: the whole catalog, service endpoints included; tab-separated when piped, a table on a terminal', async () => {
  const r = await h.run(['endpoints']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'ID\tMETHOD PATH\tROLE\tDESTRUCTIVE\tJOB\tSUMMARY');
  assert.ok(lines.includes('orders.stats\tGET /v1/orders/stats\tviewer\t\t\tOrder statistics'), r.stdout);
  assert.ok(lines.includes('migrations.up\tPOST /v1/migrations/up\tadmin\tyes\tyes\tApply pending migrations'), r.stdout);
  assert.ok(lines.some((l) => l.startsWith("tasks.run\tPOST /v1/tasks/{name}/run\tthe task's (tasks list)\t")), 'tasks.run does not claim viewers may run tasks');
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour when piped');

  const t = await h.run(['endpoints'], { tty: true });
  assert.equal(t.code, 0);
  assert.match(t.stdout, /┌/);
  assert.match(stripAnsi(t.stdout), /│ cache\.flush\s+│ POST \/v1\/cache\/flush\s+│ admin\s+│ yes/);

  const j = await h.run(['-o', 'json', 'endpoints']);
  const cat = j.json();
  assert.equal(cat.protocol, 1);
  assert.deepEqual(cat.endpoints.find((e: { id: string }) => e.id === 'cache.flush').destructive, true);
  assert.ok(cache().values.endpoints!.includes('search.reindex'), 'endpoint ids cached for completion');
});

test('-o json prints exactly one JSON document on stdout for every read command', async () => {
  const commands = [
    ['health'], ['endpoints'], ['flags', 'list'], ['flags', 'get', 'greeting'], ['migrate', 'status'], ['migrate', 'plan'],
    ['tasks', 'list'], ['jobs', 'list'], ['metrics'], ['audit', 'tail', '-n', '2'], ['audit', 'verify'], ['call', 'orders.stats'],
    ['context', 'list'],
  ];
  for (const argv of commands) {
    const r = await h.run(['-o', 'json', ...argv], { tty: true });
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.doesNotThrow(() => JSON.parse(r.stdout), `${argv.join(' ')} stdout is not one JSON document: ${r.stdout.slice(0, 200)}`);
    assert.doesNotMatch(r.stdout, /\x1b\[/, `${argv.join(' ')}: no ANSI codes in JSON`);
  }
});

test('flags, tasks, migrations and jobs are cached for tab completion', async () => {
  assert.equal((await h.run(['flags', 'list'])).code, 0);
  assert.equal((await h.run(['tasks', 'list'])).code, 0);
  assert.equal((await h.run(['migrate', 'status'])).code, 0);
  const started = await h.run(['tasks', 'run', 'count'], { as: 'operator' });
  assert.equal(started.code, 0, started.stderr);
  const jobId = started.stdout.trim();
  assert.match(jobId, /^[A-Za-z0-9_-]{8,}$/);
  const c = cache().values;
  assert.deepEqual(c.flags, ['maintenance_mode', 'discount_percent', 'max_page_size', 'greeting']);
  assert.deepEqual(c.tasks, ['count', 'purge', 'rotate', 'wait']);
  assert.deepEqual(c.migrations, ['0001-create-items', '0002-add-price', '0003-create-orders']);
  assert.ok(c.jobs!.includes(jobId));
  // Another context gets its own cache file.
  assert.equal((await h.run(['--context', 'prod', 'flags', 'list'])).code, 0);
  assert.ok(cache('prod').values.flags!.includes('greeting'));
});

test('tables: flags, migrations, tasks and jobs', async () => {
  const flags = await h.run(['flags', 'list']);
  assert.match(flags.stdout, /^discount_percent\tpercentage\t0\t0..100\t\t\tDiscount on new orders$/m);
  assert.match(flags.stdout, /^max_page_size\tinteger\t50\t1..500\t\t\tPage size cap$/m);
  assert.match(flags.stdout, /^maintenance_mode\tboolean\tfalse\ttrue\|false\t/m);
  const get = await h.run(['flags', 'get', 'max_page_size']);
  assert.match(get.stdout, /^value\s+50$/m);
  assert.match(get.stdout, /^updated by\s+\(never changed\)$/m);
  const status = await h.run(['migrate', 'status']);
  assert.match(status.stdout, /^0002-add-price\tpending$/m);
  assert.match(status.stderr, /0 applied, 3 pending/);
  const plan = await h.run(['migrate', 'plan', '--to', '0002-add-price']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.equal(plan.stdout, '#\tMIGRATION\tDIRECTION\n1\t0001-create-items\tup\n2\t0002-add-price\tup\n');
  assert.match(plan.stderr, /plan hash [0-9a-f]{64}/);
  const planJson = (await h.run(['-o', 'json', 'migrate', 'plan'])).json();
  assert.deepEqual(planJson.pending, ['0001-create-items', '0002-add-price', '0003-create-orders']);
  assert.match(planJson.planHash, /^[0-9a-f]{64}$/);
  const tasks = await h.run(['tasks', 'list']);
  assert.match(tasks.stdout, /^purge\tadmin\tyes\tolderThanDays:integer\*\tDeletes old rows \(destructive\)$/m);
  const jobs = await h.run(['-o', 'json', 'jobs', 'list']);
  assert.ok(Array.isArray(jobs.json().jobs));
});

test('exit 3 when the key lacks the role or is not allowed at all; the message names the problem code', async () => {
  const viewer = await h.run(['audit', 'tail'], { as: 'viewer' });
  assert.equal(viewer.code, 3);
  assert.match(viewer.stderr, /auth\.forbidden, HTTP 403/);
  assert.equal(viewer.stdout, '');
  const stranger = await h.run(['health'], { as: 'stranger' });
  assert.equal(stranger.code, 3);
  assert.match(stranger.stderr, /auth\.unknown_key, HTTP 401/);
  const operatorMigrates = await h.run(['migrate', 'up', '--yes'], { as: 'operator' });
  assert.equal(operatorMigrates.code, 3, operatorMigrates.stderr);
});

test('exit 2 for usage errors, before anything is sent', async () => {
  const before = (await h.auditSettled()).length;
  const cases: Array<[string[], RegExp]> = [
    [['nosuch'], /unknown command "nosuch"/],
    [['flags', 'list', '--nope'], /unknown option "--nope"/],
    [['-o', 'yaml', 'health'], /yaml/],
    [['audit', 'tail', '-n', '0'], /-n must be 1-1000/],
    [['metrics', '--filter', '('], /--filter is not a valid regular expression/],
    [['metrics', '--interval', 'soon', '--watch'], /--interval must be seconds/],
    [['migrate', 'down'], /--to/],
    [['flags', 'set', 'greeting'], /missing required argument "value"/],
    [['call', 'orders.stats', '--body', '{bad'], /--body is not valid JSON/],
    [['--context', 'nope', 'health'], /context "nope" does not exist/],
    [['tunnel', '--listen', '0.0.0.0:80'], /loopback only/],
  ];
  for (const [argv, re] of cases) {
    const r = await h.run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, re, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
  }
  assert.equal(h.audit().length, before, 'no request reached the server');
});
