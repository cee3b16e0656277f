/**
 * The demo's in-process SSH hop, probed with the real OpenSSH client: the one
 * operator key gets a direct-tcpip channel to the one allowed address, and
 * nothing else (other destinations, sessions, remote forwards, other keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startForwardingServer } from '../../src/demo/forwarding-ssh-server.js';
import { generateKeyPair } from '../../src/demo/workspace.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';

function echoServer(): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer((sock) => sock.pipe(sock));
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

test('the demo SSH hop forwards the operator to one address and refuses everything else', async (t) => {
  if (spawnSync('ssh', ['-V'], { stdio: 'ignore' }).error) {
    if (ci) throw new Error('CI: ssh (openssh-client) is not installed');
    t.skip('ssh is not installed');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-fwd-'));
  const allowed = await echoServer();
  const other = await echoServer();
  const allowedPort = (allowed.address() as net.AddressInfo).port;
  const otherPort = (other.address() as net.AddressInfo).port;
  const operator = generateKeyPair('operator');
  const stranger = generateKeyPair('stranger');
  const hostKey = generateKeyPair('hop');
  const refusals: string[] = [];
  const server = await startForwardingServer({
    name: 'bastion', hostKey: hostKey.privateKey, operatorPublicKeys: [operator.publicKey], user: 'operator',
    allow: { host: '127.0.0.1', port: allowedPort }, log: (m) => refusals.push(m),
  });
  t.after(async () => {
    await server.close();
    allowed.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, key] of [['operator', operator], ['stranger', stranger]] as const) {
    fs.writeFileSync(path.join(dir, name), key.privateKey, { mode: 0o600 });
  }
  fs.writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${server.port} ${hostKey.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
  // Asynchronous: the SSH server under test runs in this very process.
  const ssh = (key: string, user: string, args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(
        'ssh',
        [
          '-F', '/dev/null', '-p', String(server.port), '-i', path.join(dir, key), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
          '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ExitOnForwardFailure=yes',
          ...args.slice(0, -1), `${user}@127.0.0.1`, ...args.slice(-1).filter(Boolean),
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      child.stdin.end(input ?? '');
    });

  // The allowed destination: bytes go through (the echo answers).
  const ok = await ssh('operator', 'operator', ['-W', `127.0.0.1:${allowedPort}`, ''], 'ping\n');
  assert.equal(ok.stdout, 'ping\n', ok.stderr);

  // Any other destination: refused by the hop.
  const elsewhere = await ssh('operator', 'operator', ['-W', `127.0.0.1:${otherPort}`, ''], 'ping\n');
  assert.notEqual(elsewhere.status, 0);
  assert.equal(elsewhere.stdout, '');
  assert.match(elsewhere.stderr, /open failed|prohibited/i);

  // A session (shell or command): refused.
  const exec = await ssh('operator', 'operator', ['id']);
  assert.notEqual(exec.status, 0);
  assert.equal(exec.stdout, '');

  // A remote forward: refused.
  const remote = await ssh('operator', 'operator', ['-N', '-R', `0:127.0.0.1:${allowedPort}`, '']);
  assert.notEqual(remote.status, 0);

  // Another key, or another user with the right key: no way in.
  const strangerTry = await ssh('stranger', 'operator', ['-W', `127.0.0.1:${allowedPort}`, ''], 'ping\n');
  assert.notEqual(strangerTry.status, 0);
  assert.match(strangerTry.stderr, /Permission denied \(publickey\)/);
  const otherUser = await ssh('operator', 'root', ['-W', `127.0.0.1:${allowedPort}`, ''], 'ping\n');
  assert.match(otherUser.stderr, /Permission denied \(publickey\)/);

  assert.ok(refusals.some((r) => r.includes(`refused forwarding to 127.0.0.1:${otherPort}`)), refusals.join('\n'));
  assert.ok(refusals.some((r) => r.includes('refused a session')), refusals.join('\n'));
});
