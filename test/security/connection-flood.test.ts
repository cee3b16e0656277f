/**
 * Attack: hold hundreds of idle (or slowly-sending) connections open so the
 * port runs out of file descriptors and legitimate requests fail. Once, 300
 * idle sockets against a 256 fd limit made every real request fail with
 * ECONNRESET. The port caps its connections and evicts the oldest idle one
 * for a new arrival (docs/security.md, "Connection floods").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { tempDir } from '../server/fixtures/harness.js';

function openIdle(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  })));
}

test('300 idle and 50 slow-header sockets against a 256 fd limit: signed requests still succeed', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-sec-flood-');
  const key = makeKey(dir, 'op');
  const allow = path.join(dir, 'authorized_keys');
  writeAllowlist(allow, [[key, 'operator']]);
  const script = path.join(dir, 'port.mjs');
  fs.writeFileSync(script, `
    import { createInternalPort } from ${JSON.stringify(path.join(ROOT, 'dist/src/server/index.js'))};
    const p = await createInternalPort({ service: { name: 's', version: '1' }, authorizedKeysFile: ${JSON.stringify(allow)},
      auditLogFile: ${JSON.stringify(path.join(dir, 'audit.jsonl'))}, log: () => {} });
    console.log(JSON.stringify({ port: p.port }));
    process.on('SIGTERM', () => p.close().then(() => process.exit(0)));
  `);
  // The fd limit the weakness was found with; the shell's ulimit applies to the port only.
  const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$1"', process.execPath, script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const sockets: net.Socket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /\{"port":(\d+)\}/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`port exited ${code}: ${stderr}`)));
    });
    const client = new SignedClient({ host: '127.0.0.1', port }, key);
    assert.equal((await client.call('health')).status, 200);

    sockets.push(...await openIdle(port, 300));
    // Slowloris: a request line and one header, then nothing.
    const slow = await openIdle(port, 50);
    for (const s of slow) if (!s.destroyed) s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
    sockets.push(...slow);
    await new Promise((r) => setTimeout(r, 200));

    for (let i = 0; i < 20; i++) {
      const r = await client.call('health');
      assert.equal(r.status, 200, `request ${i} during the flood`);
    }
    const set = await Promise.all(Array.from({ length: 10 }, () => client.call('flags.list')));
    assert.ok(set.every((r) => r.status === 200), '10 parallel requests during the flood');
    const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    assert.ok(open < 300, `the port closed idle sockets to stay under its cap (${open} still open)`);
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
