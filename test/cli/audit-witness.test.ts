/**
 * The operator as witness, end to end: the built CLI through a real OpenSSH
 * bastion and service host to the real demo service. `opsctl audit verify`
 * remembers the checkpoint it verified and demands a consistency proof
 * from it; a history rewritten behind it (records changed, the chain and
 * the checkpoints recomputed and signed with the service's own key, so
 * every offline check passes) fails with exit 1. Also `audit proof` and
 * `audit verify --file` on a copied log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, sign } from 'node:crypto';
import { TEST_USER } from '../helpers/sshd.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { auditCheckpointMessage, auditRecordHash, leafHash, MerkleFrontier, verifyInclusion } from '../../src/protocol/index.js';

function writeContext(s: Stack, name: string, port: number): void {
  const file = path.join(s.env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, [
    `current-context: ${name}`,
    'contexts:',
    `  ${name}:`,
    '    bastion:',
    `      - ${TEST_USER}@127.0.0.1:${s.bastion.port}`,
    '    host:',
    `      - ${TEST_USER}@127.0.0.1:${s.host.port}`,
    `    port: ${port}`,
    `    identity: ${s.key.privatePath}`,
    `    known-hosts: ${s.knownHosts}`,
    '',
  ].join('\n'), { mode: 0o600 });
}

/** What an attacker with the host (and the audit key) does: edits a record and recomputes everything after it. */
function rewriteHistory(log: string, keyFile: string): void {
  const key = createPrivateKey(fs.readFileSync(keyFile, 'utf8'));
  const records = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const victim = records.find((r) => r.endpoint === 'health' && r.outcome === 'ok')!;
  victim.principal = 'someone-else';
  const frontier = new MerkleFrontier();
  let prev = '0'.repeat(64);
  const lines: string[] = [];
  for (const r of records) {
    r.prev = prev;
    if (r.type === 'checkpoint') {
      r.size = frontier.size;
      r.root = frontier.root().toString('hex');
      r.signature = sign(null, auditCheckpointMessage({ size: r.size as number, root: r.root as string, time: r.time as string }), key).toString('base64');
    }
    delete r.hash;
    r.hash = auditRecordHash(r);
    prev = r.hash as string;
    const line = JSON.stringify(r);
    frontier.push(leafHash(line));
    lines.push(line);
  }
  fs.writeFileSync(log, lines.join('\n') + '\n');
  const last = records.at(-1)!;
  fs.writeFileSync(`${log}.head`, JSON.stringify({ seq: last.seq, hash: last.hash }) + '\n');
}

// About twenty CLI runs through two sshd hops and four service starts: slow on a loaded machine.
test('audit verify witnesses checkpoints per context; proof verifies; --file checks a copy offline; a rewritten history fails with exit 1', { timeout: 600_000 }, async (t) => {
  const s = await startStack(t);
  if (!s) return;
  const dataDir = path.join(s.dir, 'svc-data');
  let svc: DemoService | undefined;
  try {
    svc = await startDemoService({ authorizedKeys: s.key.authorizedKeysLine('admin') + '\n', dataDir });
    writeContext(s, 'prod', svc.internal.port);
    for (let i = 0; i < 3; i++) assert.equal((await s.cli(['health'])).code, 0);
    const health = JSON.parse((await s.cli(['-o', 'json', 'health'])).stdout);
    const pub = (health.audit ?? health.hosts?.[0]?.result?.audit)?.publicKey as string;
    assert.match(pub, /^ssh-ed25519 /, 'health names the audit key');

    const first = await s.cli(['audit', 'verify']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /audit log intact/);
    assert.match(first.stderr, /first checkpoint seen for this context/);
    const state = path.join(s.dir, '.local', 'state', 'opsctl', 'audit-checkpoints.json');
    assert.equal(fs.statSync(state).mode & 0o777, 0o600);
    const seen = JSON.parse(fs.readFileSync(state, 'utf8')).targets.prod;
    assert.ok(seen.size >= 1);

    for (let i = 0; i < 3; i++) await s.cli(['health']);
    await svc.stop(); // clean shutdown: a checkpoint over everything
    svc = await startDemoService({ authorizedKeys: s.key.authorizedKeysLine('admin') + '\n', dataDir });
    writeContext(s, 'prod', svc.internal.port);
    const second = await s.cli(['-o', 'json', 'audit', 'verify']);
    assert.equal(second.code, 0, second.stderr);
    const doc = JSON.parse(second.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.witness.previous.size, seen.size);
    assert.ok(doc.witness.checkpoint.size > seen.size);

    const proof = await s.cli(['-o', 'json', 'audit', 'proof', '2']);
    assert.equal(proof.code, 0, proof.stderr);
    const p = JSON.parse(proof.stdout);
    assert.equal(JSON.parse(p.record).seq, 2);
    assert.ok(verifyInclusion(1, p.size, leafHash(p.record), p.proof.map((h: string) => Buffer.from(h, 'hex')), Buffer.from(p.checkpoint.root, 'hex')), 'checked here too');
    const human = await s.cli(['audit', 'proof', '2']);
    assert.match(human.stderr, /record 2 is in the audit log/);
    const tooNew = await s.cli(['audit', 'proof', '100000']);
    assert.equal(tooNew.code, 1);

    // A copy verified offline, with the service's key pinned.
    await svc.stop();
    svc = undefined;
    const copy = path.join(s.dir, 'copy.jsonl');
    fs.copyFileSync(path.join(dataDir, 'audit.log'), copy);
    const offline = await s.cli(['-o', 'json', 'audit', 'verify', '--file', copy, '--key', pub]);
    assert.equal(offline.code, 0, offline.stderr);
    const o = JSON.parse(offline.stdout);
    assert.equal(o.ok, true);
    assert.ok(o.checkpoints >= 2);
    assert.equal(o.lastCheckpoint.size, o.records - 1);
    const lines = fs.readFileSync(copy, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"outcome":"ok"', '"outcome":"error"');
    fs.writeFileSync(copy, lines.join('\n'));
    const tampered = await s.cli(['-o', 'json', 'audit', 'verify', '--file', copy]);
    assert.equal(tampered.code, 1);
    assert.equal(JSON.parse(tampered.stdout).firstBadRecord.line, 2);

    // The rewrite: consistent in itself, signed with the service's key…
    rewriteHistory(path.join(dataDir, 'audit.log'), path.join(dataDir, 'audit-signing-key.pem'));
    const selfConsistent = await s.cli(['audit', 'verify', '--file', path.join(dataDir, 'audit.log'), '--key', pub]);
    assert.equal(selfConsistent.code, 0, 'the rewritten log passes every offline check');
    svc = await startDemoService({ authorizedKeys: s.key.authorizedKeysLine('admin') + '\n', dataDir });
    writeContext(s, 'prod', svc.internal.port);
    // …but not the witness.
    const caught = await s.cli(['audit', 'verify']);
    assert.equal(caught.code, 1, caught.stderr);
    assert.match(caught.stderr, new RegExp(`history rewritten since the checkpoint seen at ${doc.witness.checkpoint.time.replace(/[.]/g, '\\.')}`));
  } finally {
    await svc?.stop();
    await s.stop();
  }
});
