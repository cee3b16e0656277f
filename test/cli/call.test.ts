/**
 * `opsctl call` against a real internal port: any catalog endpoint, the
 * service's own included; params typed by the endpoint's schema, in the
 * query for GET and the body otherwise; destructive endpoints refused without
 * confirmation (nothing runs); job endpoints; unknown ids and params.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileHarness, stripAnsi } from '../helpers/cli-harness.js';

const h = fileHarness();

const runs = (name: string) => h.counters.runs.get(name) ?? 0;

test('a service GET endpoint with typed query params; -o json is the response itself', async () => {
  const r = await h.run(['-o', 'json', 'call', 'orders.stats', '--param', 'since=2024-01-01', '--param', 'detailed=yes'], { as: 'viewer' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json(), { orders: 3, since: '2024-01-01', detailed: true });
  const human = await h.run(['call', 'orders.stats'], { as: 'viewer' });
  assert.match(human.stdout, /"orders": 3/);
});

test('standard endpoints work the same way, path params included', async () => {
  const r = await h.run(['-o', 'json', 'call', 'flags.set', '--param', 'name=max_page_size', '--param', 'value=120'], { as: 'operator' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().value, 120, 'value sent as a number (the union type tries number before string)');
  const get = await h.run(['-o', 'json', 'call', 'flags.get', '--param', 'name=max_page_size']);
  assert.equal(get.json().updatedBy, 'oscar');
  const missing = await h.run(['call', 'flags.get']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /endpoint "flags\.get" needs --param name=…/);
});

test('a destructive service endpoint: exit 4 without confirmation and it never runs; --yes shows what is called, then calls it', async () => {
  const no = await h.run(['call', 'cache.flush', '--param', 'region=eu']);
  assert.equal(no.code, 4, no.stderr);
  assert.match(no.stderr, /refusing to call cache\.flush without confirmation/);
  assert.equal(runs('cache.flush'), 0);

  const declined = await h.run(['call', 'cache.flush'], { tty: true, answers: [{ when: /Call cache\.flush\?/, send: 'n' }] });
  assert.equal(declined.code, 4);
  assert.equal(runs('cache.flush'), 0);

  const yes = await h.run(['--yes', 'call', 'cache.flush', '--body', '{"region":"eu","weights":{"a":1}}', '--param', 'all=1']);
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stderr, /cache\.flush is destructive: Flush the cache\n {2}POST \/v1\/cache\/flush \{"region":"eu","weights":\{"a":1\},"all":true\}/);
  assert.match(yes.stdout, /"flushed": true/);
  assert.equal(runs('cache.flush'), 1);

  const tty = await h.run(['call', 'cache.flush', '--param', 'weights={"b":2}'], { tty: true, answers: [{ when: /Call cache\.flush\?/, send: 'y' }] });
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(stripAnsi(tty.stdout), /"b": 2/);
  assert.equal(runs('cache.flush'), 2);
});

test('a standard destructive endpoint is refused before even the catalog is fetched', async () => {
  const before = (await h.auditSettled()).length;
  const r = await h.run(['call', 'migrations.up']);
  assert.equal(r.code, 4);
  assert.equal(h.audit().length, before);
});

test('calling tasks.run of a destructive task asks like `tasks run` does', async () => {
  const r = await h.run(['call', 'tasks.run', '--param', 'name=purge', '--param', 'params={"olderThanDays":1}']);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(runs('purge'), 0);
});

test('a job endpoint prints the job id, or follows it', async () => {
  const id = await h.run(['call', 'search.reindex', '--param', 'shards=3'], { as: 'operator' });
  assert.equal(id.code, 0, id.stderr);
  assert.match(id.stdout, /^[A-Za-z0-9_-]+\n$/);
  const json = await h.run(['-o', 'json', 'call', 'search.reindex'], { as: 'operator' });
  assert.match(json.json().jobId, /^[A-Za-z0-9_-]+$/);
  const followed = await h.run(['-o', 'json', 'call', 'search.reindex', '--param', 'shards=2', '--follow'], { as: 'operator' });
  assert.equal(followed.code, 0, followed.stderr);
  assert.deepEqual(followed.ndjson().at(-1).result, { shards: 2 });
});

test('unknown endpoints and params are usage errors; a forbidden call is exit 3', async () => {
  const unknown = await h.run(['call', 'orders.stat']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no endpoint "orders\.stat" in the catalog of cli-test \(did you mean orders\.stats\?\)/);
  const param = await h.run(['call', 'orders.stats', '--param', 'limit=3']);
  assert.equal(param.code, 2);
  assert.match(param.stderr, /unknown param "limit" for endpoint "orders\.stats"; known: since, detailed/);
  const body = await h.run(['call', 'orders.stats', '--body', '[1]']);
  assert.equal(body.code, 2);
  const forbidden = await h.run(['--yes', 'call', 'cache.flush'], { as: 'operator' });
  assert.equal(forbidden.code, 3);
  assert.equal(runs('cache.flush'), 2);
});
