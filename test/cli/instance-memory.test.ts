/**
 * The CLI remembers each port's instance id between runs (state dir), so a
 * command's first request is signed for the right instance: only the first
 * run ever pays the 401 auth.instance round trip, a stale memory costs one
 * retry and is corrected, and the memory file is private.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileHarness } from '../helpers/cli-harness.js';

const h = fileHarness();

const instanceDenials = async () =>
  (await h.auditSettled()).filter((r) => JSON.stringify(r).includes('auth.instance')).length;

function memoryFiles(): string[] {
  const dir = path.join(h.env.HOME!, '.local', 'state', 'opsctl', 'instances');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => path.join(dir, n)) : [];
}

test('only the first run learns the instance id; later runs sign for it at once', async () => {
  const before = await instanceDenials();
  const first = await h.run(['health']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await instanceDenials(), before + 1, 'the first run is refused once with auth.instance, then signs again');
  const files = memoryFiles();
  assert.equal(files.length, 1, `one memory file: ${files.join(', ')}`);
  assert.equal(fs.readFileSync(files[0]!, 'utf8').trim(), h.port.instanceId, 'it holds the port\'s instance id');
  assert.equal(fs.statSync(files[0]!).mode & 0o777, 0o600, 'memory file is 0600');
  assert.equal(fs.statSync(path.dirname(files[0]!)).mode & 0o777, 0o700, 'memory dir is 0700');
  for (let i = 0; i < 3; i++) {
    const again = await h.run(['flags', 'list']);
    assert.equal(again.code, 0, again.stderr);
  }
  assert.equal(await instanceDenials(), before + 1, 'later runs are signed for the remembered instance: no more auth.instance refusals');
});

test('a stale or garbled memory costs one retry and is corrected', async () => {
  const [file] = memoryFiles();
  assert.ok(file, 'the first test left a memory file');
  fs.writeFileSync(file, 'AAAAAAAAAAAAAAAAAAAAAA\n', { mode: 0o600 });
  const before = await instanceDenials();
  const stale = await h.run(['health']);
  assert.equal(stale.code, 0, stale.stderr);
  assert.equal(await instanceDenials(), before + 1, 'the stale id is refused once');
  assert.equal(fs.readFileSync(file, 'utf8').trim(), h.port.instanceId, 'and replaced by the answer');

  fs.writeFileSync(file, 'not an id\x1b[2J\n', { mode: 0o600 });
  const garbled = await h.run(['health']);
  assert.equal(garbled.code, 0, garbled.stderr);
  assert.equal(fs.readFileSync(file, 'utf8').trim(), h.port.instanceId, 'a garbled file is ignored, then rewritten');
});
