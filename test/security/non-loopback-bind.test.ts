/**
 * Attack: getting the internal port to listen where more than the local
 * host can reach it — a wildcard or LAN address, or a name such as
 * `localhost` that /etc/hosts (or DNS) points somewhere else. Names are
 * resolved and must resolve to loopback only; the address is what gets
 * bound (docs/security.md, "Loopback only").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInternalPort, isLoopbackHost, type InternalPortOptions } from '../../src/server/index.js';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { tempDir } from '../server/fixtures/harness.js';

function options(dir: string, allow: string): InternalPortOptions {
  return { service: { name: 's', version: '1' }, authorizedKeysFile: allow, auditLogFile: path.join(dir, 'audit.jsonl'), log: () => undefined };
}

test('wildcard, LAN and non-loopback names are refused before anything is touched; loopback works', async () => {
  const dir = tempDir('opsctl-sec-bind-');
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const lan = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '10.1.2.3';
    for (const host of ['0.0.0.0', '::', '[::]', lan, '::ffff:10.0.0.1', 'no-such-host.invalid']) {
      await assert.rejects(createInternalPort({ ...options(dir, allow), host }), (e: Error) => /loopback/.test(e.message), host);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'audit.jsonl')), 'refused before the audit log was created');
    for (const host of ['127.0.0.1', '127.0.0.9', '::ffff:127.0.0.1', 'localhost']) {
      const p = await createInternalPort({ ...options(dir, allow), host }).catch((e: Error) => e);
      if (p instanceof Error) {
        // ::ffff:127.0.0.1 needs IPv6; everything else must work.
        assert.equal(host, '::ffff:127.0.0.1', `${host}: ${p.message}`);
        continue;
      }
      assert.ok(isLoopbackHost(p.host!), `${host} bound to ${p.host}`);
      assert.equal((await new SignedClient({ host: p.host!, port: p.port! }, key).call('health')).status, 200, host);
      await p.close();
    }
    assert.equal(isLoopbackHost('localhost'), false, 'a name is not loopback by its spelling');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('`localhost` pointing elsewhere in /etc/hosts is refused (private mount namespace)', async (t) => {
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
  if (probe.error || probe.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`unshare --mount is required under CI: ${probe.error?.message ?? probe.stderr}`);
    return t.skip('unshare --mount not available (needs root)');
  }
  ensureBuilt();
  const dir = tempDir('opsctl-sec-bind-ns-');
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '10.1.2.3 localhost\n127.0.0.1 loopname\n');
    const script = path.join(dir, 'bind.mjs');
    fs.writeFileSync(script, `
      import { createInternalPort } from ${JSON.stringify(path.join(ROOT, 'dist/src/server/index.js'))};
      const base = ${JSON.stringify(options(dir, allow))};
      const out = {};
      for (const host of ['localhost', 'loopname']) {
        try { const p = await createInternalPort({ ...base, log: () => {}, host }); out[host] = 'bound ' + p.host; await p.close(); }
        catch (e) { out[host] = 'refused: ' + e.message; }
      }
      console.log(JSON.stringify(out));
    `);
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc/hosts && exec "$2" "$3"', 'sh', hosts, process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string>;
    assert.match(out.localhost!, /^refused: .*10\.1\.2\.3.*not loopback/);
    assert.equal(out.loopname, 'bound 127.0.0.1', 'a name that resolves to loopback binds its address');
    assert.equal(fs.readFileSync('/etc/hosts', 'utf8').includes('10.1.2.3 localhost'), false, 'the real /etc/hosts was never touched');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
