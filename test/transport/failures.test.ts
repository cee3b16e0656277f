// Every way the route can fail, through real sshd processes and real
// sockets: each error is a ConnectionError that names the failing hop, and
// nothing waits longer than the timeout.
import { test, after, before } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { ConnectionError } from '../../src/cli/transport/connection-error.js';
import type { TunnelTarget } from '../../src/cli/transport/types.js';
import { generateEd25519 } from '../../src/cli/identity/keygen.js';
import { requireSshd, sshdConnectionProcesses, sshdMissing, startSshd, type Sshd } from '../helpers/sshd.js';
import { closedPort, echoServer, fileIdentity, hop, silentServer, tempDir, type EchoServer } from './fixtures/route.js';

const tmp = tempDir();
let identity: Awaited<ReturnType<typeof fileIdentity>>['identity'];
let bastion: Sshd, picky: Sshd, svc: Sshd, noForward: Sshd;
let web: EchoServer;
let kh: string;
let publicKeys: string[];

before(async () => {
  if (sshdMissing()) return;
  const id = await fileIdentity(tmp);
  identity = id.identity;
  const keys = [id.key.publicKeyLine];
  publicKeys = keys;
  [bastion, picky, svc, noForward, web] = await Promise.all([
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: [generateEd25519('someone-else').publicKeyLine] }),
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys, permitOpen: ['127.0.0.1:1'] }),
    echoServer(),
  ]);
  kh = tmp.file('known_hosts', [bastion, picky, svc, noForward].map((s) => s.knownHostsLine).join('\n') + '\n');
});

after(async () => {
  await Promise.all([bastion, picky, svc, noForward].filter(Boolean).map((s) => s.stop()));
  await web?.close();
  tmp.remove();
});

function target(over: Partial<TunnelTarget> = {}): TunnelTarget {
  return { bastions: [hop('b1', bastion)], host: hop('svc', svc), internalPort: web.port, knownHostsFiles: [kh], timeoutMs: 5000, ...over };
}

async function failure(t: TunnelTarget): Promise<ConnectionError> {
  let tunnel;
  try {
    tunnel = await openTunnel(t, identity);
    await tunnel.request({ method: 'GET', path: '/v1/health', headers: {} });
  } catch (e) {
    assert.ok(e instanceof ConnectionError, `expected a ConnectionError, got ${String(e)}`);
    return e;
  } finally {
    await tunnel?.close();
  }
  assert.fail('the request succeeded');
}

test('a key the bastion rejects: names the bastion, the key and the user', async (t) => {
  if (requireSshd(t)) return;
  const err = await failure(target({ bastions: [hop('gate', picky, 'ops')] }));
  assert.equal(err.kind, 'bastion');
  assert.equal(err.reason, 'auth');
  assert.equal(err.hop, 'gate');
  assert.equal(err.message, `bastion "gate" rejected key ${identity.keyid} for user "ops"`);
});

test('a key the service host rejects: names the host', async (t) => {
  if (requireSshd(t)) return;
  const err = await failure(target({ host: hop('svc', picky) }));
  assert.equal(err.kind, 'host');
  assert.equal(err.reason, 'auth');
  assert.match(err.message, /^host "svc" rejected key SHA256:/);
});

test('a dead bastion (closed port) fails at once, naming it', async (t) => {
  if (requireSshd(t)) return;
  const port = await closedPort();
  const started = Date.now();
  const err = await failure(target({ bastions: [hop('b1', { host: '127.0.0.1', port })], timeoutMs: 3000 }));
  assert.ok(Date.now() - started < 3000);
  assert.equal(err.kind, 'bastion');
  assert.equal(err.reason, 'unreachable');
  assert.match(err.message, new RegExp(`^cannot reach bastion "b1" \\(127\\.0\\.0\\.1:${port}\\): connect ECONNREFUSED`));
});

test('a blackholed bastion (accepts TCP, never speaks) fails within the timeout, naming it', async (t) => {
  if (requireSshd(t)) return;
  const silent = await silentServer();
  try {
    const started = Date.now();
    const err = await failure(target({ bastions: [hop('b1', { host: '127.0.0.1', port: silent.port })], timeoutMs: 1200 }));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1100 && elapsed < 2500, `gave up after ${elapsed} ms`);
    assert.equal(err.reason, 'timeout');
    assert.equal(err.message, `timed out after 1.2 s connecting to bastion "b1" (127.0.0.1:${silent.port})`);
  } finally {
    await silent.close();
  }
});

test('the timeout is one budget for the whole route: a blackholed host behind a good bastion', async (t) => {
  if (requireSshd(t)) return;
  const silent = await silentServer();
  try {
    const started = Date.now();
    const err = await failure(target({ host: hop('svc', { host: '127.0.0.1', port: silent.port }), timeoutMs: 1000 }));
    assert.ok(Date.now() - started < 2000);
    assert.equal(err.kind, 'host');
    assert.match(err.message, /^timed out after 1 s connecting to host "svc"/);
  } finally {
    await silent.close();
  }
});

test('a host the bastion cannot reach: names the host and the bastion', async (t) => {
  if (requireSshd(t)) return;
  const port = await closedPort();
  const err = await failure(target({ host: hop('svc', { host: '127.0.0.1', port }) }));
  assert.equal(err.kind, 'host');
  assert.equal(err.hop, 'svc');
  assert.match(err.message, new RegExp(`^cannot reach host "svc" \\(127\\.0\\.0\\.1:${port}\\) from bastion "b1": `));
});

test('the internal port is closed: names the port and the host', async (t) => {
  if (requireSshd(t)) return;
  const port = await closedPort();
  const err = await failure(target({ internalPort: port }));
  assert.equal(err.kind, 'internal-port');
  assert.equal(err.reason, 'channel-refused');
  assert.match(err.message, new RegExp(`^internal port 127\\.0\\.0\\.1:${port} on host "svc" refused the channel \\(is the service running\\?\\)`));
  // The reason follows the colon (sshd's text, or ours when it sends none), never a dangling colon.
  assert.match(err.message, /running\?\): \S/, err.message);
});

test('forwarding forbidden by the host (permitopen): says so', async (t) => {
  if (requireSshd(t)) return;
  const err = await failure(target({ host: hop('svc', noForward) }));
  assert.equal(err.kind, 'internal-port');
  assert.equal(err.reason, 'channel-prohibited');
  assert.match(err.message, /host "svc" does not allow forwarding to 127\.0\.0\.1:\d+ \(administratively prohibited/);
});

test('something that is not an SSH server: names the hop', async (t) => {
  if (requireSshd(t)) return;
  const err = await failure(target({ bastions: [hop('b1', { host: '127.0.0.1', port: web.port })], timeoutMs: 3000 }));
  assert.equal(err.kind, 'bastion');
  assert.match(err.message, /bastion "b1"/);
});

test('the service host\'s sshd dies under an open stream behind a bastion: the stream fails at once, naming the lost host, not after --timeout', async (t) => {
  if (requireSshd(t)) return;
  // Its own sshd: the test kills the process serving its one connection.
  const host = await startSshd({ authorizedKeys: publicKeys });
  t.after(() => host.stop());
  const keys = tmp.file('kh-doomed', `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`);
  // Headers and one line, then the stream stays open (like jobs.events between heartbeats).
  const web = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"state"}\n');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  t.after(() => { web.closeAllConnections(); web.close(); });
  const port = (web.address() as { port: number }).port;
  const tunnel = await openTunnel(target({ host: hop('svc', host), internalPort: port, knownHostsFiles: [keys], timeoutMs: 20_000 }), identity);
  t.after(() => tunnel.close());
  const stream = await tunnel.stream({ method: 'GET', path: '/v1/jobs/x/events', headers: {} });
  const failed = new Promise<{ err: Error | undefined; at: number }>((resolve) => {
    stream.on('error', (err) => resolve({ err, at: Date.now() }));
    stream.on('close', () => resolve({ err: undefined, at: Date.now() }));
    stream.resume();
  });
  // The authenticated connection's process (`sshd: USER`, or `USER@notty`
  // below a `[priv]` monitor); not the start-up probe's, if still around.
  const procs = sshdConnectionProcesses(host.pid);
  const session = procs.filter((p) => /^sshd: [^\s[\]]+$/.test(p.title));
  assert.equal(session.length, 1, `one process serves the connection: ${JSON.stringify(procs)}`);
  const killedAt = Date.now();
  process.kill(session[0]!.pid, 'SIGKILL');
  const { err, at } = await failed;
  assert.ok(at - killedAt < 5000, `the stream failed ${at - killedAt} ms after the kill, not after the 20 s --timeout`);
  assert.ok(err instanceof ConnectionError, `a ConnectionError, got ${String(err)}`);
  assert.match(err.message, /connection to host "svc" was lost/);
  await tunnel.closed;
});
