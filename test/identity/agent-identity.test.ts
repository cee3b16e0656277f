// --identity agent with a real OpenSSH ssh-agent: the agent signs the SSH
// authentication on every hop AND the RFC 9421 request signature.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { loadIdentity } from '../../src/cli/identity/load.js';
import { IdentityError } from '../../src/cli/identity/identity-error.js';
import { generateEd25519 } from '../../src/cli/identity/keygen.js';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { contentDigest, ed25519KeyFromBlob, parseOpenSshPublicKey, signRequest, verifyRequest, type SignableRequest } from '../../src/protocol/index.js';
import { requireSshd, sshdMissing, startSshd, type Sshd } from '../helpers/sshd.js';
import { sshAgentMissing, startSshAgent, type SshAgent } from '../helpers/ssh-agent.js';
import { echoServer, hop, tempDir, type EchoServer } from '../transport/fixtures/route.js';

const tmp = tempDir('opsctl-agent-test-');
const opKey = generateEd25519('agent-op@test');
const otherKey = generateEd25519('other@test');
let agent: SshAgent;
let bastion: Sshd, svc: Sshd;
let web: EchoServer;

function requireAgent(t: TestContext): boolean {
  const missing = sshAgentMissing();
  if (!missing) return requireSshd(t);
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${missing}`);
  t.skip(missing);
  return true;
}

before(async () => {
  if (sshAgentMissing() || sshdMissing()) return;
  agent = await startSshAgent();
  // An ECDSA key first, so picking "the Ed25519 one" is actually tested.
  const ecdsa = tmp.file('ecdsa');
  spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
  spawnSync('ssh-add', ['-q', ecdsa], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } });
  agent.add(opKey.privateKeyText);
  agent.add(otherKey.privateKeyText);
  [bastion, svc, web] = await Promise.all([
    startSshd({ authorizedKeys: [opKey.publicKeyLine] }),
    startSshd({ authorizedKeys: [opKey.publicKeyLine] }),
    echoServer(),
  ]);
});

after(async () => {
  await Promise.all([bastion, svc].filter(Boolean).map((s) => s.stop()));
  await web?.close();
  await agent?.stop();
  tmp.remove();
});

test('the agent authenticates both SSH hops and signs the HTTP request; the server-side check verifies it', async (t) => {
  if (requireAgent(t)) return;
  const id = await loadIdentity({ kind: 'agent' }, { env: { SSH_AUTH_SOCK: agent.socket } });
  assert.equal(id.keyid, opKey.keyid, 'the first Ed25519 key of the agent');
  assert.deepEqual(id.ssh, { agent: agent.socket });
  const kh = tmp.file('known_hosts', `${bastion.knownHostsLine}\n${svc.knownHostsLine}\n`);
  const tunnel = await openTunnel({ bastions: [hop('b1', bastion)], host: hop('svc', svc), internalPort: web.port, knownHostsFiles: [kh], timeoutMs: 5000 }, id);
  try {
    const body = Buffer.from('{"value":true}');
    const req: SignableRequest = { method: 'PUT', path: '/v1/flags/beta', query: '', headers: { 'content-digest': contentDigest(body) } };
    const signed = await signRequest(req, { keyid: id.keyid, sign: (d) => id.sign(d) });
    const res = await tunnel.request({
      method: 'PUT',
      path: '/v1/flags/beta',
      headers: { 'content-type': 'application/json', 'content-digest': String(req.headers['content-digest']), 'signature-input': signed['signature-input'], signature: signed.signature },
      body,
    });
    assert.equal(res.status, 200);
    const seen = web.requests.find((r) => r.url === '/v1/flags/beta')!;
    const pub = ed25519KeyFromBlob(parseOpenSshPublicKey(opKey.publicKeyLine).blob);
    const verdict = verifyRequest(
      { method: seen.method, path: '/v1/flags/beta', query: '', headers: seen.headers as SignableRequest['headers'] },
      { hasBody: true, resolveKey: (k) => (k === opKey.keyid ? pub : undefined) },
    );
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await tunnel.close();
  }
});

test('signing really happens in the agent: once the agent forgets the key, sign fails', async (t) => {
  if (requireAgent(t)) return;
  const second = await startSshAgent();
  try {
    second.add(opKey.privateKeyText);
    const id = await loadIdentity({ kind: 'agent' }, { env: { SSH_AUTH_SOCK: second.socket } });
    assert.equal((await id.sign(Buffer.from('a'))).length, 64);
    spawnSync('ssh-add', ['-D'], { env: { ...process.env, SSH_AUTH_SOCK: second.socket }, stdio: 'ignore' });
    await assert.rejects(id.sign(Buffer.from('a')), (e: unknown) => e instanceof IdentityError && /ssh-agent did not sign/.test(e.message));
  } finally {
    await second.stop();
  }
});

test('picking a key: by fingerprint or by public key file; unknown selector is a clear error', async (t) => {
  if (requireAgent(t)) return;
  const env = { SSH_AUTH_SOCK: agent.socket };
  const byFp = await loadIdentity({ kind: 'agent', select: otherKey.keyid }, { env });
  assert.equal(byFp.keyid, otherKey.keyid);
  const pubFile = tmp.file('other.pub', otherKey.publicKeyLine + '\n', 0o644);
  const byFile = await loadIdentity({ kind: 'agent', select: pubFile }, { env });
  assert.equal(byFile.keyid, otherKey.keyid);
  await assert.rejects(
    loadIdentity({ kind: 'agent', select: 'SHA256:nothere' }, { env }),
    (e: unknown) => e instanceof IdentityError && e.code === 'agent-no-key' && /SHA256:nothere/.test(e.message),
  );
});

test('no SSH_AUTH_SOCK, a dead agent socket, an agent without Ed25519 keys: clear messages', async (t) => {
  if (requireAgent(t)) return;
  await assert.rejects(loadIdentity({ kind: 'agent' }, { env: {} }), (e: unknown) => {
    assert.ok(e instanceof IdentityError);
    assert.equal(e.code, 'agent-unavailable');
    assert.match(e.message, /SSH_AUTH_SOCK is not set/);
    assert.match(e.message, /keychain:NAME/);
    return true;
  });
  await assert.rejects(
    loadIdentity({ kind: 'agent' }, { env: { SSH_AUTH_SOCK: `${tmp.dir}/no-agent.sock` } }),
    (e: unknown) => e instanceof IdentityError && e.code === 'agent-unavailable' && /cannot talk to ssh-agent/.test(e.message),
  );
  const ecdsaOnly = await startSshAgent();
  try {
    const f = tmp.file('ecdsa2');
    spawnSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', f]);
    spawnSync('ssh-add', ['-q', f], { env: { ...process.env, SSH_AUTH_SOCK: ecdsaOnly.socket } });
    await assert.rejects(
      loadIdentity({ kind: 'agent' }, { env: { SSH_AUTH_SOCK: ecdsaOnly.socket } }),
      (e: unknown) => e instanceof IdentityError && e.code === 'agent-no-key' && /no Ed25519 key \(only ecdsa-sha2-nistp256\)/.test(e.message),
    );
  } finally {
    await ecdsaOnly.stop();
  }
});
