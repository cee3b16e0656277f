/**
 * Attack: getting a secret param into the audit log in clear by making the
 * request fail before the server knows which schema applies: a mistyped task
 * name (404), an extra top-level key (400), `params` not an object (400),
 * an unknown key inside a task's params. Every secret-marked param, and
 * every param no schema describes, is redacted (docs/security.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { CustomEndpoint, TaskDefinition } from '../../src/server/index.js';
import { readAudit, startHarness, type Harness } from '../server/fixtures/harness.js';

let h: Harness;
const rotate: TaskDefinition = {
  name: 'rotate', summary: 'rotate a credential', role: 'operator', destructive: false,
  params: { type: 'object', properties: { account: { type: 'string' }, password: { type: 'string', secret: true } }, required: ['account', 'password'], additionalProperties: false },
  handler: async () => ({ rotated: true }),
};
const login: CustomEndpoint = {
  id: 'orders.login', method: 'POST', path: '/v1/orders/login', summary: 'log in', role: 'operator',
  params: { type: 'object', properties: { user: { type: 'string' }, token: { type: 'string', secret: true } }, required: ['user', 'token'], additionalProperties: false },
  handler: (p) => ({ user: p.user }),
};

before(async () => { h = await startHarness({ tasks: [rotate], endpoints: [login] }); });
after(() => h.close());

function lastRecord(requestId: string): Record<string, unknown> {
  const recs = readAudit(h.auditFile).filter((r) => r.requestId === requestId);
  assert.ok(recs.length > 0, `an audit record for ${requestId}`);
  return recs[recs.length - 1]!;
}

const SECRET = 'S3cr3t-Value-';

test('refused before the task is known: 404, extra key, params not an object, unknown inner key', async () => {
  const cases: Array<[string, string, unknown, number]> = [
    ['mistyped task name', '/v1/tasks/rotat/run', { params: { account: 'db', password: `${SECRET}404` } }, 404],
    ['extra top-level key', '/v1/tasks/rotate/run', { params: { account: 'db', password: `${SECRET}extra` }, force: true }, 400],
    ['secret at the top level', '/v1/tasks/rotate/run', { password: `${SECRET}top` }, 400],
    ['params not an object', '/v1/tasks/rotate/run', { params: [`${SECRET}array`] }, 400],
    ['params a string', '/v1/tasks/rotate/run', { params: `${SECRET}string` }, 400],
    ['unknown key inside params', '/v1/tasks/rotate/run', { params: { account: 'db', password: `${SECRET}inner`, pasword: `${SECRET}typo` } }, 400],
    ['wrong type of another param', '/v1/tasks/rotate/run', { params: { account: 7, password: `${SECRET}type` } }, 400],
    ['custom endpoint, extra key', '/v1/orders/login', { user: 'bob', token: `${SECRET}custom`, tokn: `${SECRET}typo2` }, 400],
  ];
  for (const [name, p, body, status] of cases) {
    const r = await h.operator.send('POST', p, { body });
    assert.equal(r.status, status, `${name}: ${r.text}`);
    const rec = lastRecord(r.json.requestId);
    assert.equal(rec.outcome, 'denied', name);
    assert.ok(!JSON.stringify(rec).includes(SECRET), `${name}: secret in the audit record ${JSON.stringify(rec.params)}`);
  }
  assert.ok(!fs.readFileSync(h.auditFile, 'utf8').includes(SECRET), 'nowhere in the audit log');
});

test('what is not secret stays readable: the task name, described params', async () => {
  const r = await h.operator.send('POST', '/v1/tasks/rotate/run', { body: { params: { account: 'db', password: `${SECRET}ok` } } });
  assert.equal(r.status, 202, r.text);
  const recs = readAudit(h.auditFile).filter((x) => x.requestId === r.json.requestId || x.jobId === r.json.jobId);
  const accepted = readAudit(h.auditFile).find((x) => x.outcome === 'accepted' && x.jobId === r.json.jobId);
  assert.ok(accepted, `accepted record among ${recs.length}`);
  assert.deepEqual(accepted.params, { name: 'rotate', params: { account: 'db', password: '[redacted]' } });
  const typo = await h.operator.send('POST', '/v1/tasks/rotat/run', { body: { params: { account: 'db' } } });
  const rec = lastRecord(typo.json.requestId);
  assert.equal((rec.params as { name: string }).name, 'rotat', 'the mistyped name is kept (it is not secret)');
});
