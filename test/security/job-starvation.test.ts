/**
 * Attack: an operator fills every job slot with long tasks so that an
 * admin's migration gets 429 `limit.jobs` for as long as the tasks run.
 * One slot (by default) is kept for admins (docs/security.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TaskDefinition } from '../../src/server/index.js';
import { waitForJob } from '../helpers/signed-client.js';
import { sqliteMigrations, type MigrationFixture } from '../helpers/sqlite-migrations.js';
import { startHarness, tempDir, type Harness } from '../server/fixtures/harness.js';

let h: Harness;
let fx: MigrationFixture;
let dbDir: string;
const long: TaskDefinition = {
  name: 'long', summary: 'runs until cancelled', role: 'operator', destructive: false,
  params: { type: 'object', properties: {} },
  handler: (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true })),
};

before(async () => {
  dbDir = tempDir('opsctl-sec-jobs-');
  fx = sqliteMigrations(path.join(dbDir, 'app.db'));
  h = await startHarness({ migrations: fx.options, tasks: [long] });
});
after(async () => {
  await h.close();
  fx.close();
  fs.rmSync(dbDir, { recursive: true, force: true });
});

test('operators cannot take the last job slot (default 4, one kept for admins); the admin migration runs', async () => {
  const ids: string[] = [];
  let refused: { status: number; json: { code: string; detail: string } } | undefined;
  for (let i = 0; i < 4; i++) {
    const r = await h.operator.call('tasks.run', { name: 'long', params: {} });
    if (r.status === 202) ids.push(r.json.jobId);
    else refused = r;
  }
  assert.equal(ids.length, 3, 'three operator tasks run');
  assert.equal(refused?.status, 429);
  assert.equal(refused?.json.code, 'limit.jobs');
  assert.match(refused!.json.detail, /kept for higher roles/);

  const up = await h.admin.call('migrations.up', {});
  assert.equal(up.status, 202, `admin migration admitted: ${JSON.stringify(up.json)}`);
  assert.equal((await waitForJob(h.viewer, up.json.jobId)).state, 'succeeded');

  for (const id of ids) await h.operator.call('jobs.cancel', { id });
  for (const id of ids) assert.equal((await waitForJob(h.viewer, id)).state, 'cancelled');
});

test('the reservation is configurable, and a reservation that leaves no slot is refused at start', async () => {
  const dir = tempDir('opsctl-sec-jobs2-');
  try {
    await assert.rejects(startHarness({ maxConcurrentJobs: 2, reservedJobSlots: { admin: 2 } }), /reserved job slots/);
    const open = await startHarness({ tasks: [long], reservedJobSlots: {} });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await open.operator.call('tasks.run', { name: 'long', params: {} });
        assert.equal(r.status, 202, 'with {} nothing is kept');
        ids.push(r.json.jobId);
      }
      for (const id of ids) await open.operator.call('jobs.cancel', { id });
      for (const id of ids) await waitForJob(open.viewer, id);
    } finally {
      await open.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
