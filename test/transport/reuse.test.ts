// Connection reuse (`opsctl tunnel`): one SSH route served on a private
// unix socket (or loopback TCP); later "commands" reach the internal port
// through it without any SSH handshake.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { serveTunnel, tryReuseTunnel } from '../../src/cli/transport/reuse.js';
import { TunnelError } from '../../src/cli/transport/tunnel-error.js';
import type { Tunnel } from '../../src/cli/transport/types.js';
import { requireSshd, sshdMissing, startSshd, type Sshd } from '../helpers/sshd.js';
import { countingRelay, echoServer, fileIdentity, hop, tempDir, type EchoServer } from './fixtures/route.js';

const tmp = tempDir();
let identity: Awaited<ReturnType<typeof fileIdentity>>['identity'];
let bastion: Sshd, svc: Sshd;
let web: EchoServer;
let kh: string;

before(async () => {
  if (sshdMissing()) return;
  const id = await fileIdentity(tmp);
  identity = id.identity;
  [bastion, svc, web] = await Promise.all([
    startSshd({ authorizedKeys: [id.key.publicKeyLine] }),
    startSshd({ authorizedKeys: [id.key.publicKeyLine] }),
    echoServer(),
  ]);
  kh = tmp.file('known_hosts', `${bastion.knownHostsLine}\n${svc.knownHostsLine}\n`);
});

after(async () => {
  await Promise.all([bastion, svc].filter(Boolean).map((s) => s.stop()));
  await web?.close();
  tmp.remove();
});

async function open(bastionPort = bastion.port, files = [kh]): Promise<Tunnel> {
  return openTunnel(
    { bastions: [hop('b1', { host: '127.0.0.1', port: bastionPort })], host: hop('svc', svc), internalPort: web.port, knownHostsFiles: files, timeoutMs: 5000 },
    identity,
  );
}

test('served on a 0600 unix socket in a 0700 dir; later tunnels reuse it with no new SSH connection', async (t) => {
  if (requireSshd(t)) return;
  const relay = await countingRelay(bastion.port);
  const files = [tmp.file('kh-relay', `[127.0.0.1]:${relay.port} ${bastion.hostKeyLine}\n${svc.knownHostsLine}\n`)];
  const socketPath = path.join(tmp.dir, 'run', 'opsctl', 'tunnel-prod.sock');
  const tunnel = await open(relay.port, files);
  const served = await serveTunnel(tunnel, { socketPath });
  try {
    assert.equal(served.address, socketPath);
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(socketPath)).mode & 0o777, 0o700);

    for (let i = 0; i < 3; i++) {
      const reused = await tryReuseTunnel(socketPath, { internalPort: web.port });
      assert.ok(reused, 'the running tunnel is found');
      assert.deepEqual(reused.hops, []);
      const [a, b] = await Promise.all([
        reused.request({ method: 'GET', path: `/reuse/${i}/a`, headers: { 'x-test': 'signed-elsewhere' } }),
        reused.request({ method: 'PUT', path: `/reuse/${i}/b`, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"v":1}') }),
      ]);
      assert.equal(a.status, 200);
      assert.equal(JSON.parse(a.body.toString()).url, `/reuse/${i}/a`);
      assert.equal(JSON.parse(b.body.toString()).body, '{"v":1}');
      await reused.close();
    }
    const seen = web.requests.find((r) => r.url === '/reuse/0/a');
    assert.equal(seen?.headers['x-test'], 'signed-elsewhere', 'headers travel unchanged');
    assert.equal(relay.connections(), 1, 'all of it over the one SSH connection');
  } finally {
    await served.close();
    await tunnel.close();
    await relay.close();
  }
  assert.equal(fs.existsSync(socketPath), false, 'socket removed on close');
  assert.equal(await tryReuseTunnel(socketPath), null);
});

test('a stale socket file means no reuse, and a new tunnel replaces it', async (t) => {
  if (requireSshd(t)) return;
  const dir = path.join(tmp.dir, 'stale');
  fs.mkdirSync(dir, { mode: 0o700 });
  const socketPath = path.join(dir, 'tunnel.sock');
  // A socket file whose server is gone: its process was killed with SIGKILL.
  const child = spawn(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1])', socketPath], { stdio: 'ignore' });
  while (!fs.existsSync(socketPath)) await new Promise((r) => setTimeout(r, 10));
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGKILL');
  await gone;
  assert.ok(fs.existsSync(socketPath));
  assert.equal(await tryReuseTunnel(socketPath), null);

  const tunnel = await open();
  const served = await serveTunnel(tunnel, { socketPath });
  try {
    const reused = await tryReuseTunnel(socketPath);
    assert.ok(reused);
    assert.equal((await reused.request({ method: 'GET', path: '/after-stale', headers: {} })).status, 200);
    await reused.close();
    // A second server for the same socket is refused while the first lives.
    await assert.rejects(serveTunnel(tunnel, { socketPath }), (e: unknown) => e instanceof TunnelError && /already running/.test(e.message));
  } finally {
    await served.close();
    await tunnel.close();
  }
});

test('when the SSH connection dies the served socket goes away', async (t) => {
  if (requireSshd(t)) return;
  const socketPath = path.join(tmp.dir, 'dies', 'tunnel.sock');
  const tunnel = await open();
  const served = await serveTunnel(tunnel, { socketPath });
  await tunnel.close();
  await served.stopped;
  assert.equal(fs.existsSync(socketPath), false);
  assert.equal(await tryReuseTunnel(socketPath), null);
});

test('an unsafe socket directory and a non-loopback address are refused; loopback TCP works', async (t) => {
  if (requireSshd(t)) return;
  const tunnel = await open();
  try {
    const open777 = path.join(tmp.dir, 'open');
    fs.mkdirSync(open777);
    fs.chmodSync(open777, 0o777);
    await assert.rejects(serveTunnel(tunnel, { socketPath: path.join(open777, 's.sock') }), (e: unknown) => e instanceof TunnelError && /writable by others \(mode 777\)/.test(e.message));
    await assert.rejects(serveTunnel(tunnel, { host: '0.0.0.0', port: 0 }), (e: unknown) => e instanceof TunnelError && /loopback only/.test(e.message));

    const served = await serveTunnel(tunnel, { host: '127.0.0.1', port: 0 });
    try {
      assert.ok(served.port);
      const text = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: served.port! }, () => s.write('GET /tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let buf = '';
        s.on('data', (d) => (buf += d));
        s.on('end', () => resolve(buf));
        s.on('error', reject);
      });
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.match(text, /"url":"\/tcp"/);
    } finally {
      await served.close();
    }
  } finally {
    await tunnel.close();
  }
});
