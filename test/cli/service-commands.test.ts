/**
 * Service commands (README, "Service commands") against a real internal
 * port: a service's own endpoints become commands once `opsctl endpoints`
 * (or any command that fetches the catalog) cached its catalog for the
 * context — `lb.weight` with params server/weight/drain is `opsctl lb weight
 * --server web1 --weight 5 --drain` — typed from the params schema, with
 * `opsctl call`'s confirmation, dry-run, -o json and exit codes (the same
 * code), completion from the cache only, and an id that collides with a
 * built-in command named in a warning and reachable through call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileHarness, stripAnsi } from '../helpers/cli-harness.js';
import { runCompletion } from '../../src/cli/completion/complete.js';
import type { IOStreams } from '../../src/cli/io.js';

const h = fileHarness();
/** Help text with its line wrapping undone, for matching sentences. */
const flat = (s: string) => s.replace(/\s+/g, ' ');
const runs = (name: string) => h.counters.runs.get(name) ?? 0;
const cacheFile = () => path.join(h.env.XDG_CACHE_HOME!, 'opsctl', 'test.catalog.json');

async function complete(...words: string[]): Promise<string[]> {
  let out = '';
  const stdout = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const stderr = new Writable({ write(_c, _e, cb) { cb(); } });
  const io: IOStreams = { stdin: new PassThrough(), stdout, stderr, env: h.env };
  assert.equal(await runCompletion(['bash', '--', 'opsctl', ...words], io), 0);
  return out.split('\n').filter(Boolean);
}

/** Runs argv and says whether anything connected to the service. */
async function connects(argv: string[], opts: Parameters<typeof h.run>[1] = {}) {
  let connected = false;
  const r = await h.run(argv, { ...opts, onTunnel: () => (connected = true) });
  return { ...r, connected };
}

test('before the catalog is cached there are no service commands, and --help says how to get them', async () => {
  fs.rmSync(cacheFile(), { force: true });
  const r = await connects(['lb', 'list']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "lb"/);
  assert.equal(r.connected, false);
  const help = await h.run(['--help']);
  assert.equal(help.code, 0);
  assert.match(flat(help.stdout), /Service commands: a service's own endpoints \(lb\.disable\) become commands \(opsctl lb disable\) once its catalog is cached for context "test"; any command that fetches the catalog caches it, e\.g\. opsctl endpoints\./);
  assert.ok(!(await complete('lb', '')).includes('list'));
});

test('opsctl endpoints caches the catalog (0600 in 0700); --help lists the service commands; a collision is named and reached with call', async () => {
  const e = await h.run(['endpoints']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, /endpoint of cli-test with no command of its own: flags\.export \("flags" is built in\); reach it with opsctl call ID/);
  assert.equal(fs.statSync(cacheFile()).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(cacheFile())).mode & 0o777, 0o700);
  const cached = JSON.parse(fs.readFileSync(cacheFile(), 'utf8'));
  assert.deepEqual(cached.index.map((x: { id: string }) => x.id).sort(), ['cache.flush', 'flags.export', 'lb.list', 'lb.weight', 'orders.stats', 'search.reindex'], 'only the service\'s own endpoints');

  const help = await h.run(['--help']);
  const section = help.stdout.slice(help.stdout.indexOf('Service commands:'));
  for (const noun of ['lb', 'orders', 'cache', 'search']) assert.match(section, new RegExp(`^  ${noun} `, 'm'), section);
  assert.match(flat(section), /cached for context "test" at /);
  assert.match(flat(section), /No command of their own \(the first word is a built-in command\), reached with opsctl call ID: flags\.export\./);
  assert.doesNotMatch(help.stdout.slice(0, help.stdout.indexOf('Service commands:')), /^ {2}lb /m, 'after the built-in commands, under their own heading');

  // The collision: `flags export` is no command; call reaches the endpoint.
  const shadowed = await h.run(['flags', 'export']);
  assert.equal(shadowed.code, 2);
  assert.equal(runs('flags.export'), 0);
  const viaCall = await h.run(['-o', 'json', 'call', 'flags.export']);
  assert.equal(viaCall.code, 0, viaCall.stderr);
  assert.deepEqual(viaCall.json(), { exported: true });
  // Warned about once when a catalog is cached (not on every call); endpoints names it every time.
  assert.doesNotMatch(viaCall.stderr, /no command of its own/);
  assert.match((await h.run(['-o', 'json', 'endpoints'])).stderr, /flags\.export/);
});

test('a service command is call: the same answer, the same audit record, -o json', async () => {
  const before = runs('orders.stats');
  const cmd = await h.run(['-o', 'json', 'orders', 'stats', '--since', '2024-01-01', '--detailed'], { as: 'viewer' });
  assert.equal(cmd.code, 0, cmd.stderr);
  const call = await h.run(['-o', 'json', 'call', 'orders.stats', '--param', 'since=2024-01-01', '--param', 'detailed=yes'], { as: 'viewer' });
  assert.deepEqual(cmd.json(), call.json());
  assert.deepEqual(cmd.json(), { orders: 3, since: '2024-01-01', detailed: true });
  assert.equal(runs('orders.stats'), before + 2);
  const records = (await h.auditSettled()).filter((r) => r.endpoint === 'orders.stats');
  assert.deepEqual(records.at(-1)!.params, records.at(-2)!.params, 'the server sees the same request');
  assert.equal(records.at(-1)!.principal, 'vera');

  const help = await h.run(['orders', 'stats', '--help']);
  assert.match(help.stdout, /^Usage: opsctl orders stats \[options\]\n\nOrder statistics\n/);
  assert.match(help.stdout, /--since <since>/);
  assert.match(help.stdout, /--detailed\s/);
  assert.match(help.stdout, /--no-detailed\s+sets detailed to false/);
  assert.match(help.stdout, /Endpoint: orders\.stats \(GET \/v1\/orders\/stats\) of cli-test, role viewer\./);
  assert.match(help.stdout, /the same as opsctl call orders\.stats\./);
  assert.match(help.stdout, /Global Options:/);
});

test('typed options from the schema: enum choices, integers, mandatory; mistakes are exit 2 before anything connects', async () => {
  const before = runs('lb.weight');
  for (const [argv, re] of [
    [['lb', 'weight', '--server', 'web3', '--weight', '5', '--yes'], /option "--server <server>" argument "web3" is invalid\. Allowed choices are web1, web2\./],
    [['lb', 'weight', '--server', 'web1', '--weight', 'five', '--yes'], /--weight: expected an integer, got "five"/],
    [['lb', 'weight', '--server', 'web1', '--yes'], /required option "--weight <n>" not specified/],
    [['lb', 'weight', '--weight', '5', '--yes'], /required option "--server <server>" not specified/],
    [['lb', 'weight', '--server', 'web1', '--weight', '5', '--token', 'hunter2', '--yes'], /--token is secret and is not taken from the command line .*--token @FILE/],
    [['lb', 'weight', '--server', 'web1', '--weight', '5', '--param', 'weight=6', '--yes'], /--param weight: give it as --weight/],
    [['lb', 'weight', '--server', 'web1', '--weight', '5', '--bogus', '--yes'], /unknown option "--bogus"/],
  ] as Array<[string[], RegExp]>) {
    const r = await connects(argv, { as: 'operator' });
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.connected, false, `${argv.join(' ')}: nothing connected`);
  }
  assert.equal(runs('lb.weight'), before);
  const help = flat((await h.run(['lb', 'weight', '--help'])).stdout);
  assert.match(help, /--server <server>\s+backend \(required\) \(choices: "web1", "web2"\)/);
  assert.match(help, /--weight <n>\s+new weight \(integer 0–256, required\)/);
  assert.match(help, /--token <@file\|-> admin token of the balancer \(secret: @FILE reads a file, - standard input; left out, it is asked for without echo\)/);
  assert.match(help, /--param <k=v>\s+a param given by name \(repeatable\): host/);
  assert.match(help, /Params named like opsctl's own options are given with --param: --param host=…/);
});

test('destructive: refused without a TTY or --yes before anything is sent (exit 4); --yes, --dry-run and secrets as call does them', async () => {
  const before = runs('lb.weight');
  const refused = await connects(['lb', 'weight', '--server', 'web1', '--weight', '5'], { as: 'operator' });
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(refused.connected, false);
  assert.match(refused.stderr, /refusing to call lb\.weight without confirmation/);

  const tokenFile = path.join(h.dir, 'lb-token');
  fs.writeFileSync(tokenFile, 's3cret-token\n', { mode: 0o600 });
  const ok = await h.run(['-o', 'json', 'lb', 'weight', '--server', 'web2', '--weight', '7', '--drain', '--token', `@${tokenFile}`, '--param', 'host=lb1', '--yes'], { as: 'operator' });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.json(), { server: 'web2', weight: 7, drain: true, token: '12 chars', host: 'lb1' });
  const record = (await h.auditSettled()).filter((r) => r.endpoint === 'lb.weight').at(-1)!;
  assert.doesNotMatch(JSON.stringify(record), /s3cret-token/, 'the secret is redacted in the audit log');

  const off = await h.run(['-o', 'json', 'lb', 'weight', '--server', 'web1', '--weight', '0', '--no-drain', '--yes'], { as: 'operator' });
  assert.equal(off.json().drain, false);

  // On a terminal: shown, then asked.
  const asked = await h.run(['lb', 'weight', '--server', 'web1', '--weight', '3'], { as: 'operator', tty: true, answers: [{ when: /Call lb\.weight\?/, send: 'n' }] });
  assert.equal(asked.code, 4);
  assert.match(stripAnsi(asked.stderr), /lb\.weight is destructive: Set the weight of a backend\n {2}POST \/v1\/lb\/web1\/weight \{"weight":3\}/);

  const runsBeforeDry = runs('lb.weight');
  const dry = await h.run(['--dry-run', 'lb', 'weight', '--server', 'web1', '--weight', '9'], { as: 'operator' });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(runs('lb.weight'), runsBeforeDry, 'a dry-run applies nothing');
  assert.equal(runs('lb.weight'), before + 2);

  // A role the server refuses: exit 3, as for call.
  assert.equal((await h.run(['lb', 'weight', '--server', 'web1', '--weight', '1', '--yes'], { as: 'viewer' })).code, 3);
});

test('a job endpoint takes --follow; the server\'s refusal of a bound is exit 2', async () => {
  const r = await h.run(['-o', 'json', 'search', 'reindex', '--shards', '2', '--follow'], { as: 'operator' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.ndjson().at(-1).result.shards, 2);
  const low = await h.run(['search', 'reindex', '--shards', '0'], { as: 'operator' });
  assert.equal(low.code, 2, low.stderr);
  assert.match(low.stderr, /shards/);
});

test('a service noun alone: its list endpoint when it has one, else its commands', async () => {
  const lb = await h.run(['-o', 'json', 'lb']);
  assert.equal(lb.code, 0, lb.stderr);
  assert.deepEqual(lb.json().servers.map((s: { name: string }) => s.name), ['web1', 'web2']);
  const cache = await h.run(['cache']);
  assert.equal(cache.code, 0, cache.stderr);
  assert.match(cache.stdout, /^Usage: opsctl cache \[options\] \[command\]/);
  assert.match(cache.stdout, /flush \[options\]\s+Flush the cache/);
  const bogus = await h.run(['lb', 'bogus']);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /unknown command "bogus"/);
});

test('TAB offers service commands, their options and enum values from the cache, for the context on the line', async () => {
  assert.ok((await complete('')).includes('lb'));
  assert.deepEqual(await complete('lb', ''), ['list', 'weight']);
  assert.deepEqual((await complete('lb', 'weight', '--')).filter((o) => !o.startsWith('--m') && ['--server', '--weight', '--drain', '--no-drain', '--token', '--param'].includes(o)), ['--server', '--weight', '--drain', '--no-drain', '--token', '--param']);
  assert.deepEqual(await complete('lb', 'weight', '--server', ''), ['web1', 'web2']);
  assert.deepEqual(await complete('lb', 'weight', '--server=w'), ['--server=web1', '--server=web2']);
  // The context named on the line decides; prod has nothing cached.
  assert.ok(!(await complete('--context', 'prod', 'lb', '')).includes('weight'));
  assert.ok(!(await complete('--context', 'prod', '')).includes('lb'));
  const other = await connects(['--context', 'prod', 'lb', 'list']);
  assert.equal(other.code, 2);
  assert.equal(other.connected, false);
  const byEnv = await h.run(['lb', 'list'], { env: { OPSCTL_CONTEXT: 'prod' } });
  assert.equal(byEnv.code, 2);
});

test('a cached catalog is not trusted: terminal controls are shown visibly, odd ids and names are left to call', async () => {
  // The file as opsctl writes it: an index, and each descriptor as JSON text.
  const doc = JSON.parse(fs.readFileSync(cacheFile(), 'utf8'));
  assert.ok(Array.isArray(doc.index) && doc.endpoints.every((e: unknown) => typeof e === 'string'), 'written as index + texts');
  // An index entry whose text is not its descriptor: a command without params, nothing else.
  doc.index.push({ id: 'odd.one', summary: 'Odd', job: false, hasParams: true, extraParams: false });
  doc.endpoints.push('{"id":"something.else","method":"POST"}');
  fs.writeFileSync(cacheFile(), JSON.stringify(doc));
  const odd = await h.run(['odd', 'one', '--help']);
  assert.equal(odd.code, 0, odd.stderr);
  assert.doesNotMatch(odd.stdout, /--param|something/);
  // A file holding descriptors themselves is read too; every string in it is the service's.
  doc.endpoints = doc.endpoints.slice(0, -1).map((e: string) => JSON.parse(e));
  delete doc.index;
  doc.endpoints.push(
    { id: 'evil.run', method: 'POST', path: '/v1/evil', summary: 'Evil \u001b]52;c;SGVsbG8=\u0007 summary\u001b[2J', description: 'line\u001b[31m', role: 'viewer', destructive: false, job: false, scope: 'instance',
      params: { type: 'object', properties: { mode: { type: 'string', enum: ['a\nb', 'c'] }, '--x': { type: 'string' }, 'no-thing': { type: 'boolean' } }, additionalProperties: false } },
    { id: 'bad id', method: 'GET', path: '/v1/x', summary: 's', role: 'viewer', params: { type: 'object' } },
    'not an endpoint',
  );
  fs.writeFileSync(cacheFile(), JSON.stringify(doc));
  const help = await h.run(['evil', 'run', '--help']);
  assert.equal(help.code, 0, help.stderr);
  help.stdout = flat(help.stdout);
  assert.doesNotMatch(help.stdout, /\u001b|\u0007/);
  assert.match(help.stdout, /Evil \\x1b\]52;c;SGVsbG8=\\x07 summary\\x1b\[2J/);
  assert.match(help.stdout, /--mode <mode> --param <k=v>/, 'an enum value with a newline gives no choices list');
  assert.match(help.stdout, /--param <k=v>\s+a param given by name \(repeatable\): --x, no-thing/);
  const top = await h.run(['--help']);
  assert.match(flat(top.stdout), /bad id \(its id is not a dotted name of words\)/);
  for (const line of await complete('evil', 'run', '--mode', '')) assert.doesNotMatch(line, /[\u0000-\u001f]/);
  fs.rmSync(cacheFile());
});
