/**
 * Signed checkpoints over a real port and file: cadence (every N records,
 * every T seconds, at shutdown), the signing key on disk, the proof
 * endpoints checked with the RFC 9162 verifiers, incremental verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkAuditCheckpointSignature, leafHash, verifyConsistency, verifyInclusion, type AuditCheckpoint } from '../../src/protocol/index.js';
import { walkAuditLog } from '../../src/server/index.js';
import { readAudit, startHarness } from './fixtures/harness.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta' }] };

test('checkpoints every N records and at clean shutdown, signed by the key in the data dir, which health names', async () => {
  const h = await startHarness({ flags, audit: { checkpointEvery: 5, checkpointSeconds: 3600 } });
  try {
    const keyFile = path.join(path.dirname(h.auditFile), 'audit-signing-key.pem');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    for (let i = 0; i < 12; i++) await h.viewer.call('health');
    const health = await h.viewer.call('health');
    assert.match(health.json.audit.publicKey, /^ssh-ed25519 /);
    await h.port.close();
    const records = readAudit(h.auditFile);
    const cps = records.filter((r) => r.type === 'checkpoint');
    assert.ok(cps.length >= 3, `${cps.length} checkpoints`);
    for (const c of cps) {
      assert.equal(c.size, (c.seq as number) - 1, 'over every record before it');
      assert.equal(checkAuditCheckpointSignature(c as unknown as AuditCheckpoint, health.json.audit.publicKey), undefined);
    }
    assert.equal(records.at(-1)!.type, 'checkpoint', 'the last record at shutdown is a checkpoint');
    const walk = await walkAuditLog(h.auditFile, { pinnedKey: health.json.audit.publicKey });
    assert.equal(walk.result.ok, true);
    assert.equal(walk.result.checkpoints, cps.length);
    // The same key signs after a restart.
    await h.restart();
    assert.equal((await h.viewer.call('health')).json.audit.publicKey, health.json.audit.publicKey);
  } finally {
    await h.close();
  }
});

test('a checkpoint every T seconds when records were added, none when idle', async () => {
  const h = await startHarness({ flags, audit: { checkpointSeconds: 1 } });
  try {
    await h.viewer.call('health');
    await new Promise((r) => setTimeout(r, 1500));
    const first = readAudit(h.auditFile).filter((r) => r.type === 'checkpoint').length;
    assert.equal(first, 1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(readAudit(h.auditFile).filter((r) => r.type === 'checkpoint').length, 1, 'idle: no new checkpoint');
  } finally {
    await h.close();
  }
});

test('proof endpoints: inclusion of every record and consistency between checkpoints verify against signed roots; bad sizes are 400', async () => {
  const h = await startHarness({ flags, audit: { checkpointEvery: 7 } });
  try {
    for (let i = 0; i < 10; i++) await h.operator.call('flags.set', { name: 'beta', value: i % 2 === 0 });
    const cp = (await h.admin.call('audit.checkpoint')).json as AuditCheckpoint;
    assert.equal(checkAuditCheckpointSignature(cp), undefined);
    assert.ok(cp.size >= 7);
    for (let seq = 1; seq <= cp.size; seq++) {
      const p = (await h.admin.call('audit.proof', { seq, size: cp.size })).json;
      assert.equal(JSON.parse(p.record).seq, seq);
      assert.ok(verifyInclusion(seq - 1, cp.size, leafHash(p.record), p.proof.map((x: string) => Buffer.from(x, 'hex')), Buffer.from(cp.root, 'hex')), `seq ${seq}`);
    }
    for (let i = 0; i < 10; i++) await h.viewer.call('health');
    const later = readAudit(h.auditFile).filter((r) => r.type === 'checkpoint').at(-1) as unknown as AuditCheckpoint;
    assert.ok(later.size > cp.size);
    const c = (await h.admin.call('audit.consistency', { from: cp.size, to: later.size })).json;
    assert.ok(verifyConsistency(cp.size, later.size, Buffer.from(cp.root, 'hex'), Buffer.from(later.root, 'hex'), c.proof.map((x: string) => Buffer.from(x, 'hex'))));
    assert.equal((await h.admin.call('audit.proof', { seq: 5, size: 100000 })).status, 400);
    assert.equal((await h.admin.call('audit.consistency', { from: 9, to: 3 })).status, 400);
    assert.equal((await h.viewer.call('audit.checkpoint')).status, 403, 'admin only');
  } finally {
    await h.close();
  }
});

test('verify is incremental from the newest verified checkpoint, a full walk on request, and an edit before that checkpoint is found by the full walk', async () => {
  const h = await startHarness({ flags, audit: { checkpointEvery: 5 } });
  try {
    for (let i = 0; i < 12; i++) await h.viewer.call('health');
    const first = (await h.admin.call('audit.verify')).json;
    assert.equal(first.ok, true);
    assert.equal(first.verifiedFrom, 0, 'nothing verified yet: from the start');
    const second = (await h.admin.call('audit.verify')).json;
    assert.equal(second.ok, true);
    assert.ok(second.verifiedFrom > 0, 'from the newest verified checkpoint');
    assert.ok(second.checkpoints >= 2);
    const lines = fs.readFileSync(h.auditFile, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"vera-viewer"', '"someone-else"');
    fs.writeFileSync(h.auditFile, lines.join('\n'));
    const full = (await h.admin.call('audit.verify', { full: true })).json;
    assert.equal(full.ok, false);
    assert.equal(full.firstBadRecord.line, 2);
  } finally {
    await h.close();
  }
});

test('demo service: --audit-checkpoint-every and --audit-checkpoint-seconds set the cadence, with a shipping sink too; SIGTERM writes the shutdown checkpoint', async () => {
  const { startDemoService } = await import('../helpers/demo-service.js');
  const { makeKey, SignedClient } = await import('../helpers/signed-client.js');
  const { tempDir } = await import('./fixtures/harness.js');
  const dir = tempDir('opsctl-audit-cadence-');
  const key = makeKey(dir, 'cadence-viewer');
  const svc = await startDemoService({ authorizedKeys: `role="viewer" ${key.publicLine}\n`, dataDir: path.join(dir, 'data'), extraArgs: ['--audit-stdout', '--audit-checkpoint-every', '4', '--audit-checkpoint-seconds', '3600'] });
  try {
    const c = new SignedClient({ host: '127.0.0.1', port: svc.internal.port }, key);
    for (let i = 0; i < 9; i++) await c.call('health');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(readAudit(svc.auditLog).filter((r) => r.type === 'checkpoint').length, 2, 'after 4 and 8 records');
  } finally {
    await svc.stop();
  }
  const records = readAudit(path.join(dir, 'data', 'audit.log'));
  assert.equal(records.at(-1)!.type, 'checkpoint', 'SIGTERM: a checkpoint over everything');
  assert.equal(records.at(-1)!.size, records.length - 1);
  fs.rmSync(dir, { recursive: true, force: true });
});
