/**
 * The example Python shop (examples/sidecar/python-app: alembic migrations,
 * a maintenance command) behind opsctl-port, as an operator meets it: the
 * real CLI through two real OpenSSH sshd; roles, confirmation, exit codes,
 * the job stream and the audit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, requireSshd } from '../helpers/sshd.js';
import { editYaml, eventually, requireTools, startOpsctlPort, startShop } from '../helpers/sidecar.js';
import { startSidecarRoute, type SidecarRoute } from '../helpers/sidecar-route.js';

let r: SidecarRoute;
before(async () => { r = await startSidecarRoute('opsctl-sidecar-shop-'); });
after(() => r?.stop());

test('the Python shop: health, migrate plan and up, a maintenance job, flags it reads over OFREP, refusals and the audit, through the real CLI', async (t) => {
  if (requireSshd(t) || requireTools(t, 'alembic', 'sqlite3')) return;
  const s = { dir: r.example('python-app') };
  const ofrep = `127.0.0.1:${await freePort()}`;
  const shop = await startShop(s.dir, { ofrep: `http://${ofrep}` });
  r.onStop(() => shop.stop());
  editYaml(path.join(s.dir, 'opsctl-port.yaml'), (doc) => {
    doc.setIn(['health', 'shop', 'http', 'upstream'], `http://127.0.0.1:${shop.port}`);
    doc.setIn(['ofrep', 'listen'], ofrep);
  });
  const port = await startOpsctlPort(path.join(s.dir, 'opsctl-port.yaml'));
  r.onStop(() => port.stop());

  const health = await r.opsctl('vera', port.port, ['health', '-o', 'json']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal(JSON.parse(health.stdout).checks.shop.ok, false, 'the shop says its migrations are pending');

  const plan = await r.opsctl('alice', port.port, ['migrate', 'plan', '-o', 'json']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(JSON.parse(plan.stdout).pending, ['0001', '0002', '0003']);
  const notConfirmed = await r.opsctl('alice', port.port, ['migrate', 'up', '--reason', 'deploy']);
  assert.equal(notConfirmed.code, 4, 'no TTY and no --yes: refused, nothing sent');
  const viewerUp = await r.opsctl('vera', port.port, ['migrate', 'up', '--yes', '--reason', 'deploy']);
  assert.equal(viewerUp.code, 3, viewerUp.stderr);
  const up = await r.opsctl('alice', port.port, ['migrate', 'up', '--yes', '--reason', 'first deploy']);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr + up.stdout, /0003/);
  const after = await r.opsctl('vera', port.port, ['health', '-o', 'json']);
  assert.equal(JSON.parse(after.stdout).checks.shop.ok, true);

  for (const name of ['test-1', 'test-2', 'real']) {
    const r = await fetch(`http://127.0.0.1:${shop.port}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, price_cents: 100 }) });
    assert.equal(r.status, 201);
  }
  // The shop's flags come from opsctl-port over OFREP: an operator's change reaches its public API.
  const post = (name: string) => fetch(`http://127.0.0.1:${shop.port}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  const enable = await r.opsctl('alice', port.port, ['flags', 'enable', 'maintenance_mode', '--reason', 'pause writes']);
  assert.equal(enable.code, 0, enable.stderr);
  await eventually(async () => (await post('test-during')).status === 503, 5000, 'the shop to pause writes (maintenance_mode over OFREP)');
  const setPage = await r.opsctl('alice', port.port, ['flags', 'set', 'page_size', '1', '--reason', 'small pages']);
  assert.equal(setPage.code, 0, setPage.stderr);
  assert.equal((await r.opsctl('alice', port.port, ['flags', 'disable', 'maintenance_mode', '--reason', 'resume'])).code, 0);
  await eventually(async () => (await (await fetch(`http://127.0.0.1:${shop.port}/items`)).json() as { page_size: number }).page_size === 1, 5000, 'the shop to read page_size 1');
  assert.equal((await post('test-after')).status, 201);
  assert.equal((await r.opsctl('alice', port.port, ['flags', 'set', 'page_size', '20', '--reason', 'back'])).code, 0);
  await eventually(async () => (await (await fetch(`http://127.0.0.1:${shop.port}/items`)).json() as { page_size: number }).page_size === 20, 5000, 'page_size back to 20');

  const purge = await r.opsctl('alice', port.port, ['call', 'shop.purge', '--param', 'prefix=test-', '--yes', '--reason', 'clean test data', '--follow']);
  assert.equal(purge.code, 0, purge.stderr);
  assert.match(purge.stdout + purge.stderr, /purged \d+ item\(s\)/);
  const items = await (await fetch(`http://127.0.0.1:${shop.port}/items`)).json() as { items: Array<{ name: string }> };
  assert.deepEqual(items.items.map((i) => i.name), ['real']);
  const dash = await r.opsctl('alice', port.port, ['call', 'shop.purge', '--param', 'prefix=--all', '--yes', '--reason', 'x']);
  assert.equal(dash.code, 2, `a refused param is a usage error: ${dash.stderr}`);
  assert.match(dash.stderr, /starts with "-"/);

  const audit = await r.opsctl('alice', port.port, ['audit', 'tail', '-n', '50', '-o', 'json']);
  assert.equal(audit.code, 0, audit.stderr);
  const records = JSON.parse(audit.stdout).records as Array<Record<string, any>>;
  const end = records.find((r) => r.endpoint === 'shop.purge' && r.outcome === 'ok' && r.jobId);
  assert.ok(end, 'the purge job\'s end is audited');
  assert.equal(end.result.exitCode, 0);
  assert.equal(end.params.prefix, 'test-');
  assert.equal(end.reason, 'clean test data');

  const down = await r.opsctl('alice', port.port, ['migrate', 'down', '--to', '0', '--yes', '--reason', 'tear down']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(JSON.parse((await r.opsctl('vera', port.port, ['migrate', 'status', '-o', 'json'])).stdout).applied.length, 0);
});
