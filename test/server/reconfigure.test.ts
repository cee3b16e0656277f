/**
 * The parts an embedder can replace while the port runs (InternalPort
 * reconfigure: endpoints, health checks, extra metrics text), all or
 * nothing; an endpoint's own validate() in the authorize stage; a job's
 * auditResult() on its final record; text answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ProblemError } from '../../src/protocol/index.js';
import { InternalPortConfigError, textAnswer, type CustomEndpoint } from '../../src/server/index.js';
import { startHarness, type Harness } from './fixtures/harness.js';

let h: Harness;
let ran = 0;

const echo = (id: string, path: string): CustomEndpoint => ({
  id, method: 'GET', path, summary: `echo ${id}`, role: 'viewer',
  params: { type: 'object', properties: { word: { type: 'string' } }, additionalProperties: false },
  handler: (p) => ({ id, word: p.word ?? null }),
});

before(async () => {
  h = await startHarness({
    endpoints: [
      echo('one.echo', '/v1/one/echo'),
      {
        id: 'one.guarded', method: 'POST', path: '/v1/one/guarded', summary: 'refuses a semicolon', role: 'operator',
        params: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'], additionalProperties: false },
        validate: (p) => { if (String(p.word).includes(';')) throw new ProblemError('request.invalid', 'no semicolons', { field: 'word' }); },
        handler: () => { ran++; return textAnswer('plain text\n'); },
      },
      {
        id: 'one.job', method: 'POST', path: '/v1/one/job', summary: 'a job that reports a result', role: 'operator',
        params: { type: 'object', properties: {}, additionalProperties: false },
        job: async (_p, jc) => { jc.auditResult?.({ exitCode: 3, signal: null, note: 'x'.repeat(2000) }); throw new ProblemError('upstream.error', 'exited 3'); },
      },
    ],
    healthChecks: { upstream: () => ({ ok: true, detail: 'first' }) },
    metricsText: () => '# HELP up_requests_total Requests.\n# TYPE up_requests_total counter\nup_requests_total{code="200"} 7\nnot a metric line\n# TYPE opsctl_internal_jobs gauge\nopsctl_internal_jobs{state="x"} 1\n',
  });
});
after(() => h.close());

test('a validate() refusal is a denied 400 before anything is accepted or run; a text answer is text/plain', async () => {
  const before = h.port && fs.readFileSync(h.auditFile, 'utf8').split('\n').length;
  const bad = await h.operator.call({ method: 'POST', path: '/v1/one/guarded' }, { word: 'a;b' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, 'word');
  assert.equal(ran, 0);
  const ok = await h.operator.call({ method: 'POST', path: '/v1/one/guarded' }, { word: 'ab' });
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /^text\/plain/);
  assert.equal(ok.text, 'plain text\n');
  assert.equal(ran, 1);
  await new Promise((r) => setTimeout(r, 50));
  const records = fs.readFileSync(h.auditFile, 'utf8').trim().split('\n').slice(before - 1).map((l) => JSON.parse(l));
  const denied = records.find((r) => r.endpoint === 'one.guarded' && r.outcome === 'denied');
  assert.ok(denied, 'the refusal is recorded as denied');
  assert.equal(records.filter((r) => r.endpoint === 'one.guarded' && r.outcome === 'accepted').length, 1, 'only the valid call was accepted');
});

test('a job\'s auditResult() lands, cut, in its final audit record', async () => {
  const r = await h.operator.call({ method: 'POST', path: '/v1/one/job' }, {});
  assert.equal(r.status, 202);
  const jobId = r.json.jobId;
  let end: Record<string, any> | undefined;
  for (let i = 0; i < 100 && !end; i++) {
    await new Promise((res) => setTimeout(res, 30));
    end = fs.readFileSync(h.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((x) => x.jobId === jobId && x.outcome === 'error');
  }
  assert.ok(end, 'the job end is recorded');
  assert.equal(end.code, 'upstream.error');
  assert.equal(end.result.exitCode, 3);
  assert.equal(end.result.signal, null);
  assert.equal(end.result.note.length, 1024);
});

test('extra metrics text is served after the port\'s own, minus invalid lines and families the port has', async () => {
  const text = await h.viewer.call('metrics.get');
  assert.match(text.text, /^up_requests_total\{code="200"\} 7$/m);
  assert.doesNotMatch(text.text, /not a metric line/);
  assert.doesNotMatch(text.text, /opsctl_internal_jobs\{state="x"\}/);
  assert.equal((text.text.match(/^# TYPE opsctl_internal_jobs /gm) ?? []).length, 1);
  const json = await h.viewer.call('metrics.get', {}, { accept: 'application/json' });
  const fam = json.json.metrics.find((m: { name: string }) => m.name === 'up_requests_total');
  assert.deepEqual(fam.values, [{ value: 7, labels: { code: '200' } }]);
  assert.ok(h.logs.some((l) => /opsctl_internal_jobs is left out/.test(l)));
});

test('reconfigure replaces endpoints, health checks and metrics as a whole; an invalid set changes nothing', async () => {
  const invalid: CustomEndpoint[] = [echo('two.echo', '/v1/two/echo'), { ...echo('two.bad', '/v1/two/bad'), summary: '' }];
  assert.throws(() => h.port.reconfigure({ endpoints: invalid, healthChecks: { upstream: () => ({ ok: false, detail: 'second' }) } }), InternalPortConfigError);
  assert.throws(() => h.port.reconfigure({ endpoints: [echo('health', '/v1/health2')] }), /already registered/);
  assert.throws(() => h.port.reconfigure({ endpoints: [echo('two.echo', '/v1/health')] }), /already registered/);
  assert.throws(() => h.port.reconfigure({ healthChecks: { audit: () => true } }), /taken/);
  assert.throws(() => h.port.reconfigure({ tasks: [] } as never), /cannot replace tasks/);
  // Nothing changed.
  assert.equal((await h.viewer.send('GET', '/v1/one/echo')).status, 200);
  assert.equal((await h.viewer.send('GET', '/v1/two/echo')).status, 404);
  assert.equal((await h.viewer.call('health')).json.checks.upstream.detail, 'first');

  h.port.reconfigure({ endpoints: [echo('two.echo', '/v1/two/echo')], healthChecks: { upstream: () => ({ ok: false, detail: 'second' }) }, metricsText: undefined });
  assert.equal((await h.viewer.send('GET', '/v1/one/echo')).status, 404);
  const two = await h.viewer.send('GET', '/v1/two/echo', { query: 'word=hi' });
  assert.deepEqual(two.json, { id: 'two.echo', word: 'hi' });
  const catalog = (await h.viewer.call('catalog')).json.endpoints.map((e: { id: string }) => e.id);
  assert.ok(catalog.includes('two.echo') && !catalog.includes('one.echo') && catalog.includes('health'));
  const health = (await h.viewer.call('health')).json;
  assert.equal(health.status, 'degraded');
  assert.equal(health.checks.upstream.detail, 'second');
  assert.doesNotMatch((await h.viewer.call('metrics.get')).text, /up_requests_total/);
});
