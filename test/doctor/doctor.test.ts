/**
 * `opsctl doctor` against a real route: OpenSSH sshd as bastion and as
 * service host, the demo service behind them, the built CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../helpers/stack.js';

interface DoctorJson {
  ok: boolean;
  context: string | null;
  checks: Array<{ check: string; label: string; status: string; detail: string; ms?: number }>;
  failed: { check: string; label: string; detail: string; exitCode: number } | null;
}

test('doctor walks every hop of a healthy context, then names the internal port once the service is down', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    stack.writeContext('lab');

    const human = await stack.cli(['doctor']);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s+/).slice(0, 2).join(' ')),
      // The fresh demo service has pending migrations: its health is degraded, a warning.
      ['✓ config', '✓ identity', '✓ bastion', '✓ host', '! internal', '✓ role', '✓ protocol', '✓ clock'],
      human.stdout,
    );
    assert.match(human.stdout, /status degraded: migrations/);
    assert.match(human.stderr, /every hop works \(with warnings above\)/);
    assert.match(human.stdout, /context "lab"/);
    assert.match(human.stdout, new RegExp(`bastion .*127\\.0\\.0\\.1:${stack.bastion.port} ssh ok\\s+\\d+ ms`));
    assert.match(human.stdout, new RegExp(`host .*127\\.0\\.0\\.1:${stack.host.port} ssh ok\\s+\\d+ ms`));
    assert.match(human.stdout, /signed GET \/v1\/health: demo-orders 1\.0\.0/);
    assert.match(human.stdout, /protocol 1, \d+ endpoints/);
    // The key's role as the service sees it (GET /v1/whoami).
    assert.match(human.stdout, new RegExp(`✓ role\\s+admin as "e2e-operator" \\(${stack.key.keyid.replace(/[+/]/g, '\\$&')}\\)`));
    assert.match(human.stdout, /key file .* \(mode 0600\), SHA256:/);

    const json = await stack.cli(['doctor', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as DoctorJson;
    assert.equal(doc.ok, true);
    assert.equal(doc.context, 'lab');
    assert.equal(doc.failed, null);
    assert.deepEqual(doc.checks.map((c) => c.check), ['config', 'identity', 'bastion', 'host', 'internal-port', 'role', 'protocol', 'clock-skew']);
    const skew = doc.checks.find((c) => c.check === 'clock-skew')!;
    assert.equal(skew.status, 'ok');
    assert.match(skew.detail, /^[+−]\d+\.\d s against the server/);

    // Once migrated the service is healthy and every line is a tick.
    const up = await stack.cli(['migrate', 'up', '--yes']);
    assert.equal(up.code, 0, up.stderr);
    const healthy = await stack.cli(['doctor']);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.deepEqual(healthy.stdout.trim().split('\n').map((l) => l[0]), ['✓', '✓', '✓', '✓', '✓', '✓', '✓', '✓'], healthy.stdout);
    assert.match(healthy.stderr, /every hop works$/m);

    await stack.service.stop();

    const down = await stack.cli(['doctor']);
    assert.equal(down.code, 5, `exit 5 for a connection failure; stderr: ${down.stderr}`);
    const port = stack.service.internal.port;
    assert.match(down.stdout, new RegExp(`✗ internal port 127\\.0\\.0\\.1:${port}`));
    assert.match(down.stdout, /✓ bastion/);
    assert.match(down.stdout, /✓ host/);
    assert.match(down.stdout, /- protocol\s+not checked/);
    assert.match(down.stderr, new RegExp(`doctor: internal port 127\\.0\\.0\\.1:${port} failed \\(see above\\)`));
    // The failure is printed once (in the list), with the command that checks the service.
    assert.equal((down.stdout + down.stderr).match(/refused the channel/g)?.length, 1, down.stdout + down.stderr);
    assert.match(down.stdout, new RegExp(`fix: ssh -p ${stack.host.port} \\S+@127\\.0\\.0\\.1 curl -s http://127\\.0\\.0\\.1:${port}/v1/health`));

    const downJson = await stack.cli(['doctor', '-o', 'json']);
    assert.equal(downJson.code, 5);
    const d = JSON.parse(downJson.stdout) as DoctorJson;
    assert.equal(d.ok, false);
    assert.equal(d.failed?.check, 'internal-port');
    assert.equal(d.failed?.exitCode, 5);
    assert.match((d.failed as { fix?: string }).fix ?? '', /curl -s/);
  } finally {
    await stack.stop();
  }
});

test('doctor names the bastion when it is unreachable, and the identity when the key file is too open', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    stack.writeContext('lab');
    await stack.bastion.stop();
    const r = await stack.cli(['doctor', '-o', 'json']);
    assert.equal(r.code, 5, r.stderr);
    const d = JSON.parse(r.stdout) as DoctorJson;
    assert.equal(d.failed?.check, 'bastion');
    assert.match(d.failed!.label, /^bastion /);
    assert.deepEqual(d.checks.map((c) => c.status), ['ok', 'ok', 'fail', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);

    const fs = await import('node:fs');
    fs.chmodSync(stack.key.privatePath, 0o644);
    const open = await stack.cli(['doctor']);
    assert.notEqual(open.code, 0);
    assert.match(open.stdout, /✗ identity\s+.*too open/);
    assert.match(open.stderr, /doctor: identity failed/);
  } finally {
    await stack.stop();
  }
});

test('doctor exits 3 naming the internal port when the service does not know the key', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    stack.writeContext('lab');
    const fs = await import('node:fs');
    // Another key only: SSH still works (sshd knows ours), the service refuses it.
    const { generateKeyPair } = await import('../helpers/keys.js');
    const other = generateKeyPair('someone-else');
    fs.writeFileSync(stack.service.authorizedKeysFile, other.authorizedKeysLine('admin') + '\n');
    other.cleanup();
    // The allowlist reloads on change; give the watcher a moment.
    let r = await stack.cli(['doctor']);
    for (let i = 0; i < 20 && r.code === 0; i++) {
      await new Promise((res) => setTimeout(res, 200));
      r = await stack.cli(['doctor']);
    }
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /✗ internal port .*auth\.unknown_key/);
    // The fix is the allowlist line for this key.
    assert.ok(r.stdout.includes(`fix: echo 'role="viewer" ${stack.key.publicLine.trim()}' >> ALLOWLIST`), r.stdout);
  } finally {
    await stack.stop();
  }
});
