/**
 * Weakness: a crash that cuts the audit log's last record(s) broke the log
 * for good. The head anchor had already counted the cut record, the chain
 * went on from the anchor, and every verify after the restart failed with
 * "seq N+1 where N was expected" and listed no repair.
 *
 * Attack: cut the tail at EVERY byte offset of the last two records (mid
 * record, at a newline, both records) with the anchor left as the crash
 * left it, and open the log again (in process: one AuditLog open/close per
 * offset). Then once end to end: a real demo service killed with SIGKILL,
 * its tail cut mid-record, restarted on the same data dir and port files.
 *
 * Expected: the log verifies (in process, from the file with its anchor, and
 * as a copy with the CLI's --file walk); one repair record takes the first
 * lost seq and names every lost seq and the torn bytes; the head anchor
 * names the newest record; the next checkpoint covers every line before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../../src/server/audit/audit-log.js';
import { readHead } from '../../src/server/audit/head-anchor.js';
import { walkAuditLog } from '../../src/server/index.js';
import { verifyLogFile } from '../../src/cli/commands/audit/verify-file.js';
import { startDemoService } from '../helpers/demo-service.js';
import { ROOT } from '../helpers/build.js';
import { SignedClient, allowlistLine, makeKey } from '../helpers/signed-client.js';
import { tempDir } from '../server/fixtures/harness.js';

const signingKey = generateKeyPairSync('ed25519').privateKey;
const quiet = () => undefined;

/** A small record: the walk below is over every byte of two of them. */
function event(i: number): Record<string, unknown> {
  return { requestId: `r${i}`, outcome: 'ok' };
}

const lines = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('a tail cut at every byte offset of the last two records: the restarted log verifies and its repair names what was cut', async (t) => {
  // Hundreds of opens, each with an fsync or three: on a tmpfs where there is one.
  const dir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/opsctl-sec-cut-') : tempDir('opsctl-sec-cut-');
  const started = Date.now();
  try {
    const src = path.join(dir, 'orig', 'audit.jsonl');
    const a = await AuditLog.open(src, quiet, { signingKey, checkpointEvery: 3 });
    for (let i = 0; i < 5; i++) await a.append(event(i) as never);
    await a.drain();
    // A crash, not a close: no shutdown checkpoint; the anchor names the last record.
    await a.abandon();
    const text = fs.readFileSync(src);
    const whole = lines(src);
    const n = whole.length;
    assert.ok(whole.some((l) => l.includes('"type":"checkpoint"')), 'a checkpoint precedes the tail');
    const anchor = fs.readFileSync(`${src}.head`);
    assert.equal((await readHead(src))?.seq, n);
    const startOfLast2 = text.length - Buffer.byteLength(whole[n - 1]!) - 1 - Buffer.byteLength(whole[n - 2]!) - 1;
    const work = path.join(dir, 'work');
    const file = path.join(work, 'audit.jsonl');
    let offsets = 0;
    for (let cut = startOfLast2; cut < text.length; cut++) {
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(work, { mode: 0o700 });
      fs.writeFileSync(file, text.subarray(0, cut), { mode: 0o600 });
      fs.writeFileSync(`${file}.head`, anchor, { mode: 0o600 });
      const kept = text.subarray(0, cut).toString('utf8').split('\n');
      const tornText = kept.pop()!; // the bytes after the last newline
      const wholeKept = kept.length;
      const log = await AuditLog.open(file, quiet, { signingKey, checkpointEvery: 1000 });
      const v = await log.verify({ full: true });
      const where = `cut at byte ${cut} (${text.length - cut} bytes before the end)`;
      assert.equal(v.ok, true, `${where}: ${JSON.stringify(v.firstBadRecord)}`);
      assert.equal(v.repairs.length, 1, where);
      const repair = v.repairs[0]!;
      assert.equal(repair.seq, wholeKept + 1, `${where}: the repair takes the first lost seq`);
      assert.deepEqual(repair.cutSeqs, { from: wholeKept + 1, to: n }, where);
      assert.equal(repair.tornBytes, Buffer.byteLength(tornText), where);
      if (tornText) assert.equal(fs.readFileSync(path.join(work, repair.tornFile!), 'utf8'), tornText, `${where}: the torn bytes are kept aside`);
      else assert.equal(repair.tornFile, undefined, where);
      await log.append(event(99) as never);
      await log.close(); // writes the next checkpoint
      const after = lines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
      const cp = after.at(-1)!;
      assert.equal(cp.type, 'checkpoint', where);
      assert.equal(cp.size, after.length - 1, `${where}: the checkpoint covers every line before it`);
      assert.deepEqual(await readHead(file), { seq: cp.seq, hash: cp.hash }, `${where}: the anchor names the newest record`);
      const walked = await walkAuditLog(file);
      assert.equal(walked.result.ok, true, `${where}: the file with its anchor: ${JSON.stringify(walked.result.firstBadRecord)}`);
      const offline = await verifyLogFile(file);
      assert.equal(offline.ok, true, `${where}: --file: ${JSON.stringify(offline.firstBadRecord)}`);
      offsets++;
    }
    assert.ok(offsets > 300, `cut at ${offsets} offsets`);
    t.diagnostic(`${offsets} offsets in ${Date.now() - started} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('end to end: a demo service killed with SIGKILL, its tail cut mid-record, restarted: verify passes on the port and with --file, naming the repair', async () => {
  const dir = tempDir('opsctl-sec-cut-e2e-');
  const dataDir = path.join(dir, 'data');
  const admin = makeKey(dir, 'alice-admin');
  const keys = allowlistLine(admin, 'admin') + '\n';
  let svc = await startDemoService({ authorizedKeys: keys, dataDir, extraArgs: ['--no-approvals'] });
  try {
    let client = new SignedClient(svc.internal, admin);
    for (let i = 0; i < 3; i++) assert.equal((await client.call('flags.set', { name: 'maintenance_mode', value: i % 2 === 0 })).status, 200);
    svc.proc.kill('SIGKILL');
    await svc.stop();
    const before = lines(svc.auditLog);
    const headBefore = await readHead(svc.auditLog);
    assert.equal(headBefore?.seq, before.length, 'the anchor counted the last record');
    // Cut the last record in its middle, as a crash would.
    const size = fs.statSync(svc.auditLog).size;
    fs.truncateSync(svc.auditLog, size - Math.floor(Buffer.byteLength(before.at(-1)!) / 2));
    svc = await startDemoService({ authorizedKeys: keys, dataDir, extraArgs: ['--no-approvals'] });
    client = new SignedClient(svc.internal, admin);
    const v = await client.call('audit.verify', { full: true });
    assert.equal(v.json.ok, true, JSON.stringify(v.json));
    assert.deepEqual(v.json.repairs.map((r: { seq: number; cutSeqs: unknown }) => [r.seq, r.cutSeqs]), [[before.length, { from: before.length, to: before.length }]]);
    const copy = path.join(dir, 'copy.log');
    fs.copyFileSync(svc.auditLog, copy);
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin/opsctl.js'), '-o', 'json', 'audit', 'verify', '--file', copy], { encoding: 'utf8' });
    const doc = JSON.parse(out) as { ok: boolean; repairs: Array<{ seq: number; cutSeqs: { from: number; to: number } }> };
    assert.equal(doc.ok, true, out);
    assert.deepEqual(doc.repairs.map((r) => r.cutSeqs), [{ from: before.length, to: before.length }]);
  } finally {
    await svc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
