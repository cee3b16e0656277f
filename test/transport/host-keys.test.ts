// Host key verification: known_hosts parsing and matching, then the real
// thing against OpenSSH sshd: plain and hashed entries, [host]:port, a
// changed key, an unknown key with and without a TTY prompt, @revoked.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { HostKeyError } from '../../src/cli/transport/host-key-error.js';
import { HostKeyVerifier } from '../../src/cli/transport/host-key-verifier.js';
import { SshChain } from '../../src/cli/transport/ssh-chain.js';
import {
  checkHostKey,
  entryMatchesHost,
  knownHostsName,
  parseKnownHosts,
  patternsMatch,
} from '../../src/cli/transport/known-hosts.js';
import { parseOpenSshPublicKey } from '../../src/protocol/fingerprint.js';
import type { HostKeyPrompt, TunnelTarget } from '../../src/cli/transport/types.js';
import { requireSshd, sshdMissing, startSshd, type Sshd } from '../helpers/sshd.js';
import { echoServer, fileIdentity, hop, tempDir, type EchoServer } from './fixtures/route.js';

const tmp = tempDir();
let identity: Awaited<ReturnType<typeof fileIdentity>>['identity'];
let bastion: Sshd, svc: Sshd, impostor: Sshd;
let web: EchoServer;

before(async () => {
  if (sshdMissing()) return;
  const id = await fileIdentity(tmp);
  identity = id.identity;
  const keys = [id.key.publicKeyLine];
  [bastion, svc, impostor, web] = await Promise.all([
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys }),
    startSshd({ authorizedKeys: keys }),
    echoServer(),
  ]);
});

after(async () => {
  await Promise.all([bastion, svc, impostor].filter(Boolean).map((s) => s.stop()));
  await web?.close();
  tmp.remove();
});

function target(files: string[], over: Partial<TunnelTarget> = {}): TunnelTarget {
  return { bastions: [hop('b1', bastion)], host: hop('svc', svc), internalPort: web.port, knownHostsFiles: files, timeoutMs: 5000, ...over };
}

async function health(t: TunnelTarget, prompt?: HostKeyPrompt): Promise<number> {
  const tunnel = await openTunnel(t, identity, prompt ? { promptHostKey: prompt } : {});
  try {
    return (await tunnel.request({ method: 'GET', path: '/v1/health', headers: {} })).status;
  } finally {
    await tunnel.close();
  }
}

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const ED2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8HBSPzaJDOBu3z6ydTJ2d9qVZkbk/35w0HDXUVtemN';

test('known_hosts parsing: patterns, negation, [host]:port, markers, junk', () => {
  const text = [
    '# comment',
    '',
    `web-*.prod,!web-9.prod ${ED}`,
    `[10.0.0.5]:2222 ${ED}`,
    `@cert-authority *.example ${ED2}`,
    `@revoked * ${ED2}`,
    'garbage line',
    `host ssh-rsa ${ED.split(' ')[1]}`, // type does not match the blob: skipped
    `Db? ${ED}`,
  ].join('\n');
  const entries = parseKnownHosts(text, 'kh');
  assert.equal(entries.length, 4);
  assert.deepEqual(entries.map((e) => e.line), [3, 4, 6, 9]);
  assert.equal(entries[2]!.revoked, true);
  const blob = parseOpenSshPublicKey(ED).blob;
  assert.equal(checkHostKey(entries, 'web-1.prod', blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'WEB-1.PROD', blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'web-9.prod', blob).status, 'unknown', 'negated pattern vetoes');
  assert.equal(checkHostKey(entries, knownHostsName('10.0.0.5', 2222), blob).status, 'ok');
  assert.equal(checkHostKey(entries, knownHostsName('10.0.0.5', 22), blob).status, 'unknown');
  assert.equal(checkHostKey(entries, 'db1', blob).status, 'ok');
  assert.equal(checkHostKey(entries, 'db12', blob).status, 'unknown');
  const other = parseOpenSshPublicKey(ED2).blob;
  assert.equal(checkHostKey(entries, 'web-1.prod', other).status, 'revoked');
  assert.equal(patternsMatch(['a.b'], 'aXb'), false, 'dots are literal');
  assert.equal(knownHostsName('Host', 22), 'host');
  assert.equal(knownHostsName('::1', 2200), '[::1]:2200');
});

test('hashed entries written by ssh-keygen -H match their host', () => {
  const file = tmp.file('hashme', `[127.0.0.1]:2201 ${ED}\nplain.example ${ED2}\n`);
  const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const entries = parseKnownHosts(fs.readFileSync(file, 'utf8'), file);
  assert.ok(entries.every((e) => e.hashed), 'all lines hashed');
  assert.equal(entryMatchesHost(entries[0]!, '[127.0.0.1]:2201'), true);
  assert.equal(entryMatchesHost(entries[0]!, '[127.0.0.1]:2202'), false);
  assert.equal(entryMatchesHost(entries[1]!, 'plain.example'), true);
  assert.equal(entryMatchesHost(entries[1]!, 'Plain.Example'), true);
});

test('plain known_hosts with [host]:port entries for every hop', async (t) => {
  if (requireSshd(t)) return;
  const kh = tmp.file('plain', `${bastion.knownHostsLine}\n${svc.knownHostsLine}\n`);
  assert.equal(await health(target([kh])), 200);
});

test('hashed known_hosts (ssh-keygen -H), found in the second file', async (t) => {
  if (requireSshd(t)) return;
  const own = path.join(tmp.dir, 'own-empty', 'known_hosts'); // missing file: counts as empty
  const user = tmp.file('hashed', `${bastion.knownHostsLine}\n${svc.knownHostsLine}\n`);
  assert.equal(spawnSync('ssh-keygen', ['-H', '-f', user]).status, 0);
  assert.ok(!fs.readFileSync(user, 'utf8').includes('127.0.0.1'));
  assert.equal(await health(target([own, user])), 200);
});

test('a changed host key is refused loudly, naming the hop — even with a prompt available', async (t) => {
  if (requireSshd(t)) return;
  // The service host's address is recorded with the impostor's key.
  const kh = tmp.file('changed', `${bastion.knownHostsLine}\n[127.0.0.1]:${svc.port} ${impostor.hostKeyLine}\n`);
  let asked = false;
  const err = await health(target([kh]), async () => {
    asked = true;
    return true;
  }).then(
    () => assert.fail('connected despite a changed host key'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HostKeyError, String(err));
  assert.equal(err.problem, 'mismatch');
  assert.equal(err.hop, 'svc');
  assert.match(err.message, /HOST KEY MISMATCH/);
  assert.match(err.message, /host key/i);
  assert.match(err.message, /"svc"/);
  assert.ok(err.message.includes(err.fingerprint));
  assert.equal(asked, false);
});

test('a changed bastion key is refused before anything reaches the host', async (t) => {
  if (requireSshd(t)) return;
  const kh = tmp.file('changed-b', `[127.0.0.1]:${bastion.port} ${impostor.hostKeyLine}\n${svc.knownHostsLine}\n`);
  await assert.rejects(health(target([kh])), (e: unknown) => e instanceof HostKeyError && e.hop === 'b1' && e.hopKind === 'bastion');
});

test('an unknown host without a prompt (no TTY) is refused with the fingerprint', async (t) => {
  if (requireSshd(t)) return;
  const kh = tmp.file('unknown', `${bastion.knownHostsLine}\n`);
  const err = await health(target([kh])).then(
    () => assert.fail('connected to an unknown host'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HostKeyError);
  assert.equal(err.problem, 'unknown');
  assert.match(err.message, /unknown host key for host "svc"/);
  assert.match(err.message, /no TTY/);
  assert.match(err.message, /SHA256:/);
  assert.equal(fs.readFileSync(kh, 'utf8'), `${bastion.knownHostsLine}\n`, 'nothing recorded');
});

test('unknown host, prompt says yes: recorded in the first file (0600, dir 0700), then accepted without asking', async (t) => {
  if (requireSshd(t)) return;
  const own = path.join(tmp.dir, 'tofu', 'opsctl', 'known_hosts');
  const user = tmp.file('tofu-user', `${bastion.knownHostsLine}\n`);
  const asked: Array<{ name: string; fingerprint: string; keyType: string }> = [];
  const prompt: HostKeyPrompt = async ({ hop: h, fingerprint, keyType }) => {
    asked.push({ name: h.name, fingerprint, keyType });
    return true;
  };
  // A slow human answer must not count against the connect budget. The
  // budget is 2.5 s, not less, so that a loaded CI machine's own handshake
  // time stays inside it; the answer takes longer than the whole budget.
  const slow: HostKeyPrompt = async (info) => {
    await new Promise((r) => setTimeout(r, 3000));
    return prompt(info);
  };
  assert.equal(await health(target([own, user], { timeoutMs: 2500 }), slow), 200);
  assert.equal(asked.length, 1);
  assert.equal(asked[0]!.name, 'svc');
  assert.equal(asked[0]!.keyType, 'ssh-ed25519');
  const svcFp = spawnSync('ssh-keygen', ['-lf', `${svc.hostKeyPath}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1];
  assert.equal(asked[0]!.fingerprint, svcFp);
  assert.equal(fs.statSync(own).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(own)).mode & 0o777, 0o700);
  assert.equal(fs.readFileSync(own, 'utf8'), `${svc.knownHostsLine}\n`);
  assert.equal(fs.readFileSync(user, 'utf8'), `${bastion.knownHostsLine}\n`, 'the user file is left alone');

  assert.equal(await health(target([own, user]), prompt), 200);
  assert.equal(asked.length, 1, 'no second question');
});

test('unknown host, prompt says no: refused and nothing recorded', async (t) => {
  if (requireSshd(t)) return;
  const own = path.join(tmp.dir, 'tofu-no', 'known_hosts');
  const user = tmp.file('tofu-no-user', `${bastion.knownHostsLine}\n`);
  await assert.rejects(health(target([own, user]), async () => false), (e: unknown) => e instanceof HostKeyError && e.problem === 'unknown' && /not accepted/.test(e.message));
  assert.equal(fs.existsSync(own), false);
});

test('a @revoked key is refused even when also listed as valid', async (t) => {
  if (requireSshd(t)) return;
  const kh = tmp.file('revoked', `${bastion.knownHostsLine}\n${svc.knownHostsLine}\n@revoked * ${svc.hostKeyLine}\n`);
  await assert.rejects(health(target([kh])), (e: unknown) => e instanceof HostKeyError && e.problem === 'revoked' && /REVOKED HOST KEY/.test(e.message));
});

test('fan-out to hosts with unknown keys: one question at a time, the same key is asked about once', async (t) => {
  if (requireSshd(t)) return;
  const own = path.join(tmp.dir, 'fan', 'known_hosts');
  const user = tmp.file('fan-user', `${bastion.knownHostsLine}\n`);
  let open = 0;
  let maxOpen = 0;
  const asked: string[] = [];
  const verifier = await HostKeyVerifier.load({
    files: [own, user],
    prompt: async ({ hop: h }) => {
      maxOpen = Math.max(maxOpen, ++open);
      asked.push(h.name);
      await new Promise((r) => setTimeout(r, 100));
      open--;
      return true;
    },
  });
  const chain = await SshChain.connect([hop('b1', bastion)], { identity, verifier, timeoutMs: 5000 });
  try {
    await Promise.all([chain.connectHost(hop('svc', svc)), chain.connectHost(hop('svc-again', svc)), chain.connectHost(hop('other', impostor))]);
    assert.equal(maxOpen, 1, 'never two questions at once');
    assert.equal(asked.length, 2, `asked about ${asked.join(', ')}`);
    assert.equal(fs.readFileSync(own, 'utf8').trim().split('\n').length, 2);
  } finally {
    await chain.close();
  }
});
