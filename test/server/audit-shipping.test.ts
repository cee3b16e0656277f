/**
 * Audit shipping to a real rsyslogd over UDP and TCP, counted record by
 * record against the local log; rsyslogd stopped and started mid-stream.
 * The shipped copy is verified with the real `opsctl audit verify --file`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/sshd.js';
import { rsyslog, requireRsyslog } from '../helpers/rsyslog.js';
import { ensureBuilt } from '../helpers/build.js';
import { privateHome, runCli } from '../helpers/stack.js';
import { readAudit, startHarness } from './fixtures/harness.js';

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta' }] };

async function verifyFile(file: string) {
  ensureBuilt();
  const home = privateHome('audit-ship-cli-');
  try {
    const r = await runCli(['-o', 'json', 'audit', 'verify', '--file', file], home.env);
    return { code: r.code, doc: JSON.parse(r.stdout || '{}') as Record<string, unknown>, stderr: r.stderr };
  } finally {
    fs.rmSync(home.dir, { recursive: true, force: true });
  }
}

const bySeq = (lines: string[]) => new Set(lines.map((l) => (JSON.parse(l) as { seq: number }).seq));

test('TCP: every record reaches rsyslog, also across a restart of rsyslog (queued while down, reconnects); the shipped copy verifies', async (t) => {
  if (requireRsyslog(t)) return;
  const port = await freePort();
  const rs = rsyslog({ port, protocol: 'tcp' });
  await rs.start();
  const h = await startHarness({ flags, audit: { sinks: [`tcp://127.0.0.1:${port}`], checkpointEvery: 7 } });
  try {
    for (let i = 0; i < 10; i++) await h.viewer.call('health');
    await rs.waitFor((l) => l.length >= 10);
    await rs.stop();
    for (let i = 0; i < 10; i++) await h.operator.call('flags.set', { name: 'beta', value: i % 2 === 0 });
    await new Promise((r) => setTimeout(r, 300));
    const down = await h.viewer.call('health');
    assert.equal(down.json.status, 'degraded', 'health says the sink is down');
    assert.equal(down.json.checks[`audit-sink tcp://127.0.0.1:${port}`].ok, false);
    await rs.start();
    await new Promise((r) => setTimeout(r, 1500)); // reconnect backoff
    for (let i = 0; i < 5; i++) await h.viewer.call('health');
    const metrics = await h.viewer.call('metrics.get');
    assert.match(metrics.text, /^opsctl_audit_sink_dropped_total\{sink="tcp:\/\/127\.0\.0\.1:\d+"\} 0$/m);
    await h.port.close();
    const local = readAudit(h.auditFile);
    const shipped = await rs.waitFor((l) => bySeq(l).size >= local.length);
    const seqs = bySeq(shipped);
    const missing = local.filter((r) => !seqs.has(r.seq as number)).map((r) => r.seq);
    assert.deepEqual(missing, [], 'every local record was shipped');
    const copy = path.join(rs.dir, 'copy.jsonl');
    fs.writeFileSync(copy, shipped.join('\n') + '\n');
    const v = await verifyFile(copy);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.doc.ok, true);
    assert.equal(v.doc.records, local.length);
    assert.ok((v.doc.checkpoints as number) >= 3);
  } finally {
    await h.close();
    await rs.remove();
  }
});

test('UDP: records reach rsyslog; while it is down what is lost is counted (metric, health) and a shipping record says how many when it is back', async (t) => {
  if (requireRsyslog(t)) return;
  const port = await freePort();
  const rs = rsyslog({ port, protocol: 'udp' });
  await rs.start();
  const sink = `udp://127.0.0.1:${port}`;
  const h = await startHarness({ flags, audit: { sinks: [sink] } });
  try {
    for (let i = 0; i < 10; i++) await h.viewer.call('health');
    await rs.waitFor((l) => l.length >= 10);
    const copy1 = path.join(rs.dir, 'copy1.jsonl');
    fs.writeFileSync(copy1, rs.lines().join('\n') + '\n');
    const v1 = await verifyFile(copy1);
    assert.equal(v1.doc.ok, true, JSON.stringify(v1.doc));
    await rs.stop();
    for (let i = 0; i < 10; i++) await h.viewer.call('health');
    const down = await h.viewer.call('health');
    assert.equal(down.json.checks[`audit-sink ${sink}`].ok, false);
    await rs.start();
    await new Promise((r) => setTimeout(r, 1200)); // a second without errors: the sink counts as back
    for (let i = 0; i < 5; i++) await h.viewer.call('health');
    await h.port.close();
    const local = readAudit(h.auditFile);
    const shipping = local.filter((r) => r.type === 'shipping');
    assert.equal(shipping.length, 1, 'one record says the sink missed records');
    const shipped = await rs.waitFor((l) => l.some((x) => x.includes('"type":"shipping"')));
    await new Promise((r) => setTimeout(r, 300));
    const seqs = bySeq(rs.lines());
    const missing = local.filter((r) => !seqs.has(r.seq as number)).length;
    assert.ok(missing > 0 && (shipping[0]!.dropped as number) > 0);
    // UDP learns of a receiver that is down from the ICMP answer to the datagram before: up to one loss per outage goes uncounted.
    assert.ok((shipping[0]!.dropped as number) >= missing - 1 && (shipping[0]!.dropped as number) <= missing, `dropped ${String(shipping[0]!.dropped)}, missing ${missing}`);
    assert.ok(shipped.length > 0);
  } finally {
    await h.close();
    await rs.remove();
  }
});

test('demo --audit-stdout: the address line stays first, the records follow it as JSON Lines; a bad --audit-syslog is a usage error', async () => {
  const { startDemoService } = await import('../helpers/demo-service.js');
  const { makeKey, SignedClient } = await import('../helpers/signed-client.js');
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'audit-stdout-'));
  const key = makeKey(dir, 'stdout-viewer');
  const svc = await startDemoService({ authorizedKeys: `role="viewer" ${key.publicLine}\n`, extraArgs: ['--audit-stdout'] });
  try {
    const c = new SignedClient({ host: '127.0.0.1', port: svc.internal.port }, key);
    for (let i = 0; i < 3; i++) assert.equal((await c.call('health')).status, 200);
    await new Promise((r) => setTimeout(r, 200));
    const lines = svc.stdout().split('\n').filter(Boolean);
    assert.ok('internal' in JSON.parse(lines[0]!), 'the address line first');
    const records = lines.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(records.filter((r) => r.endpoint === 'health').length, 3);
    const local = readAudit(svc.auditLog);
    assert.deepEqual(lines.slice(1), fs.readFileSync(svc.auditLog, 'utf8').split('\n').filter(Boolean).slice(0, lines.length - 1), 'byte for byte the local lines');
    assert.ok(local.length >= 3);
  } finally {
    await svc.stop();
  }
  await assert.rejects(startDemoService({ authorizedKeys: `${key.publicLine}\n`, extraArgs: ['--audit-syslog', 'http://x:1'] }), /--audit-syslog must be udp/);
  fs.rmSync(dir, { recursive: true, force: true });
});
