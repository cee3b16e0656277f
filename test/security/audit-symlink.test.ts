/**
 * Attack: point the audit log somewhere else with a symlink (before start,
 * or swapped in while running) so records land in a file the attacker
 * controls or nowhere. The log is opened with O_NOFOLLOW: the port refuses
 * to start, and while running a swapped log makes mutations 503 and run
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createInternalPort } from '../../src/server/index.js';
import { makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { startHarness, tempDir } from '../server/fixtures/harness.js';

test('a symlinked audit log refuses the start', async () => {
  const dir = tempDir('opsctl-sec-symlink-');
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const target = path.join(dir, 'attacker.jsonl');
    fs.writeFileSync(target, '');
    const log = path.join(dir, 'audit.jsonl');
    fs.symlinkSync(target, log);
    await assert.rejects(createInternalPort({ service: { name: 's', version: '1' }, authorizedKeysFile: allow, auditLogFile: log, log: () => undefined }), /audit log/);
    assert.equal(fs.readFileSync(target, 'utf8'), '', 'nothing written through the link');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a log swapped for a symlink while running: mutations are 503 audit.unavailable and do not run', async () => {
  const h = await startHarness({ flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'b' }] } });
  const aside = `${h.auditFile}.aside`;
  const target = path.join(h.dir, 'attacker.jsonl');
  try {
    fs.writeFileSync(target, '');
    fs.renameSync(h.auditFile, aside);
    fs.symlinkSync(target, h.auditFile);
    const r = await h.operator.call('flags.set', { name: 'beta', value: true });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.code, 'audit.unavailable');
    assert.equal(fs.readFileSync(target, 'utf8'), '', 'nothing written through the link');
    fs.rmSync(h.auditFile);
    fs.renameSync(aside, h.auditFile);
    assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false, 'the flag did not change');
  } finally {
    if (fs.existsSync(aside)) { fs.rmSync(h.auditFile, { force: true }); fs.renameSync(aside, h.auditFile); }
    await h.close();
  }
});
