import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { walkAuditLog, recordHash, type TaskDefinition } from '../../src/server/index.js';
import { waitForJob } from '../helpers/signed-client.js';
import { readAudit, startHarness, tempDir, type Harness } from './fixtures/harness.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta' }] };
const RECORD_FIELDS = ['seq', 'time', 'requestId', 'keyid', 'principal', 'role', 'peer', 'endpoint', 'method', 'path', 'params', 'reason', 'outcome', 'status', 'durationMs', 'prev', 'hash'];

async function withLog(fn: (h: Harness) => Promise<void>, extra = {}) {
  const h = await startHarness({ flags, ...extra });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function someTraffic(h: Harness): Promise<void> {
  await h.viewer.call('health');
  await h.stranger.call('flags.set', { name: 'beta', value: true });
  await h.operator.call('flags.set', { name: 'beta', value: true }, { headers: { 'opsctl-reason': 'INC-7 mitigation' } });
  await h.viewer.call('flags.set', { name: 'beta', value: false });
  await h.admin.call('flags.list');
}

/** Copies the log and its head anchor, applies `edit` to the copy's lines, verifies the copy. */
async function verifyEdited(h: Harness, edit: (lines: string[]) => string[]) {
  const dir = tempDir('opsctl-audit-copy-');
  try {
    const copy = path.join(dir, 'audit.jsonl');
    const lines = fs.readFileSync(h.auditFile, 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(copy, edit(lines).map((l) => l + '\n').join(''));
    fs.copyFileSync(`${h.auditFile}.head`, `${copy}.head`);
    return (await walkAuditLog(copy)).result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the audit log is 0600 JSON Lines, hash-chained, with denied keyids, principals, reasons and outcomes', () => withLog(async (h) => {
  await someTraffic(h);
  assert.equal(fs.statSync(h.auditFile).mode & 0o777, 0o600);
  assert.equal(fs.statSync(`${h.auditFile}.head`).mode & 0o777, 0o600);
  const records = readAudit(h.auditFile);
  let prev = '0'.repeat(64);
  records.forEach((r, i) => {
    for (const f of RECORD_FIELDS) assert.ok(f in r, `record ${i + 1} has ${f}`);
    assert.equal(r.seq, i + 1);
    assert.equal(r.prev, prev);
    assert.equal(r.hash, recordHash(r));
    prev = r.hash as string;
  });
  // Nothing vouches for the key id an unknown caller claims: it is kept apart.
  const stranger = records.find((r) => r.claimedKeyid === h.keys.stranger.keyid)!;
  assert.deepEqual([stranger.outcome, stranger.status, stranger.code, stranger.principal, stranger.keyid], ['denied', 401, 'auth.unknown_key', null, null]);
  const set = records.filter((r) => r.endpoint === 'flags.set' && r.principal === 'oscar-operator');
  assert.deepEqual(set.map((r) => r.outcome), ['accepted', 'ok']);
  assert.equal(set[0]!.reason, 'INC-7 mitigation');
  assert.deepEqual(set[0]!.params, { name: 'beta', value: true });
  assert.match(String(set[0]!.peer), /^127\.0\.0\.1:\d+$/);
  const forbidden = records.find((r) => r.principal === 'vera-viewer' && r.endpoint === 'flags.set')!;
  assert.deepEqual([forbidden.outcome, forbidden.status, forbidden.code], ['denied', 403, 'auth.forbidden']);

  const verify = await h.admin.call('audit.verify');
  assert.equal(verify.status, 200);
  assert.deepEqual(verify.json, { ok: true, records: records.length, checkpoints: 0, repairs: [], verifiedFrom: 0 });
  const tail = await h.admin.call('audit.tail', { limit: 3 });
  assert.equal(tail.json.records.length, 3);
  assert.equal(tail.json.records[2].endpoint, 'audit.verify', 'newest last');
  assert.ok(tail.json.records[0].seq < tail.json.records[2].seq);
  assert.equal((await h.admin.call('audit.tail', { limit: 5000 })).status, 400);
  const deflt = await h.admin.call('audit.tail');
  assert.equal(deflt.json.records.length, Math.min(20, records.length + 3));
}));

test('verify finds edited, deleted, inserted, reordered lines and a cut tail', () => withLog(async (h) => {
  await someTraffic(h);
  await someTraffic(h);
  const n = readAudit(h.auditFile).length;
  assert.ok(n >= 10);
  assert.deepEqual(await verifyEdited(h, (l) => l), { ok: true, records: n, checkpoints: 0, repairs: [], verifiedFrom: 0 });

  const edited = await verifyEdited(h, (l) => { l[4] = l[4]!.replace('"outcome":"denied"', '"outcome":"ok"').replace('"outcome":"accepted"', '"outcome":"ok"'); return l; });
  assert.equal(edited.ok, false);
  assert.deepEqual([edited.firstBadRecord?.line, edited.firstBadRecord?.seq], [5, 5]);
  assert.match(edited.firstBadRecord!.reason, /edited/);

  const deleted = await verifyEdited(h, (l) => l.filter((_, i) => i !== 3));
  assert.equal(deleted.ok, false);
  assert.equal(deleted.firstBadRecord?.line, 4);
  assert.match(deleted.firstBadRecord!.reason, /deleted/);

  const reordered = await verifyEdited(h, (l) => { [l[2], l[3]] = [l[3]!, l[2]!]; return l; });
  assert.equal(reordered.ok, false);
  assert.equal(reordered.firstBadRecord?.line, 3);

  const inserted = await verifyEdited(h, (l) => [...l.slice(0, 6), l[1]!, ...l.slice(6)]);
  assert.equal(inserted.ok, false);
  assert.equal(inserted.firstBadRecord?.line, 7);

  const cut = await verifyEdited(h, (l) => l.slice(0, -2));
  assert.equal(cut.ok, false);
  assert.equal(cut.firstBadRecord?.seq, n - 1);
  assert.match(cut.firstBadRecord!.reason, /tail/);

  const garbage = await verifyEdited(h, (l) => { l[1] = 'not json'; return l; });
  assert.deepEqual(garbage.firstBadRecord?.line, 2);
}));

test('audit.verify over HTTP reports ok:false after a record is edited, and a tail cut while the port was down is named by a repair record after the restart', () => withLog(async (h) => {
  await someTraffic(h);
  const lines = fs.readFileSync(h.auditFile, 'utf8').split('\n').filter(Boolean);
  const target = lines.findIndex((l) => l.includes('"principal":"oscar-operator"'));
  const copy = [...lines];
  copy[target] = copy[target]!.replace('oscar-operator', 'someone-else');
  fs.writeFileSync(h.auditFile, copy.join('\n') + '\n');
  const r = await h.admin.call('audit.verify');
  assert.equal(r.json.ok, false);
  assert.equal(r.json.firstBadRecord.line, target + 1);

  // Restore the edited line (keeping the verify call's own record), then
  // cut the tail while the port is down and restart it.
  const appended = fs.readFileSync(h.auditFile, 'utf8').split('\n').filter(Boolean).slice(lines.length);
  fs.writeFileSync(h.auditFile, [...lines, ...appended].join('\n') + '\n');
  assert.equal((await h.admin.call('audit.verify')).json.ok, true);
  await h.port.close();
  const now = fs.readFileSync(h.auditFile, 'utf8').split('\n').filter(Boolean);
  fs.writeFileSync(h.auditFile, now.slice(0, -3).join('\n') + '\n');
  await h.restart();
  assert.ok(h.logs.some((l) => l.includes(`record(s) ${now.length - 2}..${now.length} were cut`)), `the restart warns: ${h.logs.join('\n')}`);
  await h.viewer.call('health');
  const after = await h.admin.call('audit.verify');
  assert.equal(after.json.ok, true, JSON.stringify(after.json));
  // New records do not paper over the missing ones: the repair names them.
  assert.deepEqual(after.json.repairs, [{ seq: now.length - 2, tornBytes: 0, cutSeqs: { from: now.length - 2, to: now.length } }]);
}));

test('a log with wider permissions is tightened to 0600 at start', async () => {
  const h = await startHarness({ flags });
  await h.viewer.call('health');
  await h.port.close();
  fs.chmodSync(h.auditFile, 0o644);
  await h.restart();
  assert.equal(fs.statSync(h.auditFile).mode & 0o777, 0o600);
  await h.close();
});

test('fail closed: when the audit log cannot be written, mutations get 503 and nothing runs; GETs still answer', () => withLog(async (h) => {
  await h.viewer.call('health');
  const saved = fs.readFileSync(h.auditFile);
  // Replace the log by a directory: appends fail even for root.
  fs.rmSync(h.auditFile);
  fs.mkdirSync(h.auditFile);
  const r = await h.operator.call('flags.set', { name: 'beta', value: true });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 'audit.unavailable');
  const task = await h.admin.call('tasks.run', { name: 'touch', params: {} });
  assert.equal(task.status, 503);
  assert.equal(touched, 0, 'the task did not run');
  const health = await h.viewer.call('health');
  assert.equal(health.status, 200);
  assert.equal(health.json.status, 'degraded');
  assert.equal(health.json.checks.audit.ok, false);
  assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false, 'flag unchanged');
  assert.ok(h.logs.some((l) => l.startsWith('error') && l.includes('cannot be appended')));
  fs.rmdirSync(h.auditFile);
  fs.writeFileSync(h.auditFile, saved, { mode: 0o600 });
  const ok = await h.operator.call('flags.set', { name: 'beta', value: true });
  assert.equal(ok.status, 200, 'works again once the log is back');
  assert.equal((await h.admin.call('audit.verify')).json.ok, true, 'and the chain is intact');
}, { tasks: [touchTask()] }));

let touched = 0;
function touchTask(): TaskDefinition {
  return {
    name: 'touch', summary: 'Touches', role: 'admin', destructive: true, params: { type: 'object', additionalProperties: false },
    async handler() { touched++; return null; },
  };
}

test('a destructive action\'s accepted record is on disk before its handler runs', async () => {
  let seenByHandler: Array<Record<string, unknown>> = [];
  let auditFile = '';
  const h = await startHarness({
    tasks: [{
      name: 'drop-cache', summary: 'Drops the cache', role: 'admin', destructive: true, params: { type: 'object', additionalProperties: false },
      async handler() { seenByHandler = readAudit(auditFile); return null; },
    }],
  });
  auditFile = h.auditFile;
  try {
    const r = await h.admin.call('tasks.run', { name: 'drop-cache', params: {} }, { headers: { 'opsctl-reason': 'cache poisoned' } });
    await waitForJob(h.admin, r.json.jobId);
    const accepted = seenByHandler.find((x) => x.jobId === r.json.jobId);
    assert.ok(accepted, 'the handler found its accepted record in the file');
    assert.equal(accepted.outcome, 'accepted');
    assert.equal(accepted.reason, 'cache poisoned');
  } finally {
    await h.close();
  }
});

test('audit params: secrets redacted at any depth, long values cut', async () => {
  const { redact } = await import('../../src/server/audit/redact.js');
  const schema = {
    type: 'object' as const,
    properties: {
      db: { type: 'object' as const, properties: { password: { type: 'string' as const, secret: true }, host: { type: 'string' as const } } },
      tokens: { type: 'array' as const, items: { type: 'string' as const, secret: true } },
      note: { type: 'string' as const },
    },
  };
  const out = redact(schema, { db: { password: 'hunter2', host: 'db1' }, tokens: ['a', 'b'], note: 'n'.repeat(5000) }) as Record<string, unknown>;
  assert.deepEqual(out.db, { password: '[redacted]', host: 'db1' });
  assert.deepEqual(out.tokens, ['[redacted]', '[redacted]']);
  assert.ok((out.note as string).length < 1100);
  assert.match(out.note as string, /more chars/);
});
