// The SSH route end to end through real OpenSSH sshd processes: bastion(s),
// the service host's sshd, a direct-tcpip channel to a real HTTP server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { SshChain } from '../../src/cli/transport/ssh-chain.js';
import { HostKeyVerifier } from '../../src/cli/transport/host-key-verifier.js';
import type { TunnelTarget } from '../../src/cli/transport/types.js';
import { requireSshd, sshdMissing, startSshd, type Sshd } from '../helpers/sshd.js';
import { countingRelay, echoServer, fileIdentity, hop, tempDir, type EchoServer } from './fixtures/route.js';

const tmp = tempDir();
let identity: Awaited<ReturnType<typeof fileIdentity>>['identity'];
let b1: Sshd, b2: Sshd, svc: Sshd, svc2: Sshd;
let web: EchoServer;
let knownHosts: string;

before(async () => {
  if (sshdMissing()) return;
  const id = await fileIdentity(tmp);
  identity = id.identity;
  const keys = [id.key.publicKeyLine];
  [b1, b2, svc, svc2, web] = await Promise.all([
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys }),
    echoServer({ delayMs: 150 }),
  ]);
  knownHosts = tmp.file('known_hosts', [b1, b2, svc, svc2].map((s) => s.knownHostsLine).join('\n') + '\n');
});

after(async () => {
  await Promise.all([b1, b2, svc, svc2].filter(Boolean).map((s) => s.stop()));
  await web?.close();
  tmp.remove();
});

function target(over: Partial<TunnelTarget> = {}): TunnelTarget {
  return {
    bastions: [hop('b1', b1)],
    host: hop('svc', svc),
    internalPort: web.port,
    knownHostsFiles: [knownHosts],
    timeoutMs: 5000,
    ...over,
  };
}

test('one bastion: GET reaches the internal port; parallel and sequential requests share one SSH connection', async (t) => {
  if (requireSshd(t)) return;
  const relay = await countingRelay(b1.port);
  const kh = tmp.file('kh-relay', `[127.0.0.1]:${relay.port} ${b1.hostKeyLine}\n${svc.knownHostsLine}\n`);
  const tunnel = await openTunnel(target({ bastions: [hop('b1', { host: '127.0.0.1', port: relay.port })], knownHostsFiles: [kh] }), identity);
  try {
    assert.deepEqual(tunnel.hops.map((h) => [h.kind, h.hop.name]), [['bastion', 'b1'], ['host', 'svc']]);
    const res = await tunnel.request({ method: 'GET', path: '/v1/health?x=1', headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString());
    assert.equal(body.method, 'GET');
    assert.equal(body.url, '/v1/health?x=1');

    // Four requests at once, each taking 150 ms at the server: they run on
    // parallel channels, so together they take far less than 4 × 150 ms.
    const started = Date.now();
    const many = await Promise.all(
      [1, 2, 3, 4].map((i) => tunnel.request({ method: 'POST', path: `/p${i}`, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`body ${i}`) })),
    );
    const elapsed = Date.now() - started;
    assert.deepEqual(many.map((r) => JSON.parse(r.body.toString()).body), ['body 1', 'body 2', 'body 3', 'body 4']);
    assert.ok(elapsed < 450, `parallel requests took ${elapsed} ms`);
    const parallelPorts = new Set(many.map((r) => JSON.parse(r.body.toString()).remotePort));
    assert.ok(parallelPorts.size >= 2, 'parallel requests used several channels');

    // Sequential requests reuse a kept-alive channel.
    const a = JSON.parse((await tunnel.request({ method: 'GET', path: '/a', headers: {} })).body.toString());
    const b = JSON.parse((await tunnel.request({ method: 'GET', path: '/b', headers: {} })).body.toString());
    assert.equal(a.remotePort, b.remotePort);

    assert.equal(relay.connections(), 1, 'exactly one TCP connection to the bastion');
  } finally {
    await tunnel.close();
    await relay.close();
  }
});

test('two bastions in a chain, and a streamed NDJSON response', async (t) => {
  if (requireSshd(t)) return;
  const tunnel = await openTunnel(target({ bastions: [hop('b1', b1), hop('b2', b2)] }), identity);
  try {
    assert.deepEqual(tunnel.hops.map((h) => h.hop.name), ['b1', 'b2', 'svc']);
    const res = await tunnel.stream({ method: 'GET', path: '/stream', headers: {} });
    assert.equal(res.statusCode, 200);
    let text = '';
    for await (const chunk of res) text += chunk;
    assert.deepEqual(text.trim().split('\n').map((l) => JSON.parse(l).i), [0, 1, 2]);
  } finally {
    await tunnel.close();
  }
});

test('direct connection without bastions; openChannel gives a raw byte stream', async (t) => {
  if (requireSshd(t)) return;
  const tunnel = await openTunnel(target({ bastions: [] }), identity);
  try {
    const ch = await tunnel.openChannel();
    ch.write('GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let text = '';
    for await (const c of ch) text += c;
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /"url":"\/raw"/);
  } finally {
    await tunnel.close();
  }
});

test('fan-out: one bastion connection carries connections to several hosts at once', async (t) => {
  if (requireSshd(t)) return;
  const relay = await countingRelay(b1.port);
  const kh = tmp.file('kh-fan', `[127.0.0.1]:${relay.port} ${b1.hostKeyLine}\n${svc.knownHostsLine}\n${svc2.knownHostsLine}\n`);
  const verifier = await HostKeyVerifier.load({ files: [kh] });
  const chain = await SshChain.connect([hop('b1', { host: '127.0.0.1', port: relay.port })], { identity, verifier, timeoutMs: 5000 });
  try {
    const [h1, h2] = await Promise.all([chain.connectHost(hop('svc', svc)), chain.connectHost(hop('svc2', svc2))]);
    const replies = await Promise.all(
      [h1, h2, h1, h2].map(async (h) => {
        const ch = await h.openChannel('127.0.0.1', web.port);
        ch.write('GET /fan HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        let text = '';
        for await (const c of ch) text += c;
        return text;
      }),
    );
    for (const r of replies) assert.match(r, /^HTTP\/1\.1 200/);
    assert.equal(relay.connections(), 1);
  } finally {
    await chain.close();
    await relay.close();
  }
});

test('close() ends the SSH connections and later requests fail with a ConnectionError', async (t) => {
  if (requireSshd(t)) return;
  const tunnel = await openTunnel(target(), identity);
  await tunnel.request({ method: 'GET', path: '/once', headers: {} });
  await tunnel.close();
  await assert.rejects(tunnel.request({ method: 'GET', path: '/again', headers: {} }), { name: 'ConnectionError' });
  await tunnel.closed;
});
