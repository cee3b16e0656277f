/**
 * Weakness: `opsctl audit verify --file` trusted the key named inside the
 * log when no `--key` was given, and passed a copy whose tail was cut
 * without saying that it cannot know. Whoever rewrites a copy can re-sign
 * its checkpoints with a key of their own and name that key in them; and
 * records after the newest checkpoint are held by the hash chain only.
 *
 * Attack, with the real CLI: a copy cut after its newest checkpoint; a copy
 * rewritten and re-signed with another key; `--require-key` without a key.
 *
 * Expected: without --key the answer says the key is the log's own claim
 * (text and -o json), `--require-key` without --key is exit 2 before
 * anything is read, the right key passes and another one fails (exit 1),
 * and a tail after the newest checkpoint is reported as "tail not covered
 * by a checkpoint: N records" (tailNotCovered in -o json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../../src/server/audit/audit-log.js';
import { ed25519PublicKeyLine } from '../../src/protocol/fingerprint.js';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { tempDir } from '../server/fixtures/harness.js';

const quiet = () => undefined;

function opsctl(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/opsctl.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('verify --file: the key without --key is the log\'s own claim, --require-key insists, and a tail after the newest checkpoint is reported', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-sec-verify-');
  try {
    const service = generateKeyPairSync('ed25519').privateKey;
    const servicePub = path.join(dir, 'service.pub');
    fs.writeFileSync(servicePub, ed25519PublicKeyLine(service, 'audit') + '\n');
    const file = path.join(dir, 'audit.jsonl');
    const log = await AuditLog.open(file, quiet, { signingKey: service });
    for (let i = 0; i < 6; i++) await log.append({ requestId: `r${i}`, outcome: 'ok' } as never);
    await log.close(); // ends with a checkpoint over every record
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

    // Whole, with the service's key: passes, nothing uncovered.
    const given = opsctl(['-o', 'json', 'audit', 'verify', '--file', file, '--key', servicePub, '--require-key']);
    assert.equal(given.code, 0, given.stderr);
    assert.deepEqual(JSON.parse(given.stdout).key, 'given');
    assert.equal(JSON.parse(given.stdout).tailNotCovered, 0);

    // Without --key: passes, but says whose word the key is.
    const claimed = opsctl(['audit', 'verify', '--file', file]);
    assert.equal(claimed.code, 0, claimed.stderr);
    assert.match(claimed.stderr, /the key is the log's own claim/);
    assert.equal(JSON.parse(opsctl(['-o', 'json', 'audit', 'verify', '--file', file]).stdout).key, 'claimed-by-log');

    // --require-key without a key: a usage error, nothing verified.
    const required = opsctl(['-o', 'json', 'audit', 'verify', '--file', file, '--require-key']);
    assert.equal(required.code, 2, required.stderr);
    assert.equal(required.stdout, '');
    assert.match(required.stderr, /--require-key/);

    // Records after the newest checkpoint (a copy taken between two, or a tail cut to one).
    const extended = path.join(dir, 'extended.jsonl');
    const more = await AuditLog.open(file, quiet, { signingKey: service, checkpointEvery: 1000 });
    for (let i = 0; i < 3; i++) await more.append({ requestId: `s${i}`, outcome: 'ok' } as never);
    await more.drain();
    await more.abandon(); // no shutdown checkpoint: three records after the newest one
    fs.copyFileSync(file, extended);
    const tail = opsctl(['audit', 'verify', '--file', extended, '--key', servicePub]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stderr, /tail not covered by a checkpoint: 3 records/);
    assert.equal(JSON.parse(opsctl(['-o', 'json', 'audit', 'verify', '--file', extended, '--key', servicePub]).stdout).tailNotCovered, 3);

    // A rewritten copy re-signed with another key: passes on its own word only.
    const forged = path.join(dir, 'forged.jsonl');
    const attacker = generateKeyPairSync('ed25519').privateKey;
    const flog = await AuditLog.open(forged, quiet, { signingKey: attacker });
    for (const l of lines.filter((x) => !x.includes('"type":"checkpoint"'))) {
      const r = JSON.parse(l) as Record<string, unknown>;
      await flog.append({ requestId: `${String(r.requestId)}-rewritten`, outcome: 'ok' } as never);
    }
    await flog.close();
    const forgedClaim = opsctl(['audit', 'verify', '--file', forged]);
    assert.equal(forgedClaim.code, 0, 'a consistent rewrite passes on its own word');
    assert.match(forgedClaim.stderr, /the key is the log's own claim/);
    const forgedPinned = opsctl(['audit', 'verify', '--file', forged, '--key', servicePub, '--require-key']);
    assert.equal(forgedPinned.code, 1, forgedPinned.stderr);
    assert.match(forgedPinned.stderr, /not by the expected key/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
