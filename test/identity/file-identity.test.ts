// Key files, key generation and identity specs, checked against OpenSSH's
// own ssh-keygen.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { verify } from 'node:crypto';
import { inspect } from 'node:util';
import { generateEd25519, readKeyFile } from '../../src/cli/identity/keygen.js';
import { loadIdentity } from '../../src/cli/identity/load.js';
import { IdentityError } from '../../src/cli/identity/identity-error.js';
import { formatIdentitySpec, parseIdentitySpec } from '../../src/cli/identity/spec.js';
import { ed25519KeyFromBlob, parseOpenSshPublicKey } from '../../src/protocol/fingerprint.js';
import { tempDir } from '../transport/fixtures/route.js';

const tmp = tempDir('opsctl-id-');
after(() => tmp.remove());

function keygen(args: string[], input?: string): string {
  const r = spawnSync('ssh-keygen', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function fingerprintByOpenSsh(file: string): string {
  return keygen(['-lf', file]).split(' ')[1]!;
}

test('identity specs', () => {
  const env = { HOME: '/home/op' };
  assert.deepEqual(parseIdentitySpec('keychain:prod-ops', env), { kind: 'keychain', name: 'prod-ops' });
  assert.deepEqual(parseIdentitySpec('agent', env), { kind: 'agent' });
  assert.deepEqual(parseIdentitySpec('agent:SHA256:abc', env), { kind: 'agent', select: 'SHA256:abc' });
  assert.deepEqual(parseIdentitySpec('agent:~/.ssh/id.pub', env), { kind: 'agent', select: '/home/op/.ssh/id.pub' });
  assert.deepEqual(parseIdentitySpec('~/.ssh/id_ed25519', env), { kind: 'file', path: '/home/op/.ssh/id_ed25519' });
  assert.deepEqual(parseIdentitySpec('./k', env), { kind: 'file', path: './k' });
  for (const bad of ['', 'keychain:', 'keychain:a b', 'keychain:../x', 'agent:']) {
    assert.throws(() => parseIdentitySpec(bad, env), (e: unknown) => e instanceof IdentityError && e.code === 'invalid-spec', bad);
  }
  assert.equal(formatIdentitySpec({ kind: 'agent', select: 'SHA256:x' }), 'agent:SHA256:x');
});

test('generateEd25519 writes a key OpenSSH reads; keyid is what ssh-keygen -l prints', () => {
  const key = generateEd25519('alice@laptop');
  assert.match(key.privateKeyText, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
  const file = tmp.file('gen', key.privateKeyText, 0o600);
  assert.equal(keygen(['-y', '-f', file]).trim(), key.publicKeyLine);
  assert.equal(fingerprintByOpenSsh(file), key.keyid);
  assert.match(key.publicKeyLine, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\S+ alice@laptop$/);
  assert.notEqual(generateEd25519('x').keyid, generateEd25519('x').keyid);
});

test('a 0600 key file made by ssh-keygen loads and signs; its identity prints no secret', async () => {
  const file = tmp.file('plain-key');
  keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'bob@host', '-f', file]);
  const id = await loadIdentity({ kind: 'file', path: file });
  assert.equal(id.keyid, fingerprintByOpenSsh(file));
  assert.equal(id.publicKeyLine, keygen(['-y', '-f', file]).trim());
  const data = Buffer.from('signature base');
  const sig = await id.sign(data);
  assert.equal(sig.length, 64);
  const pub = ed25519KeyFromBlob(parseOpenSshPublicKey(id.publicKeyLine).blob);
  assert.equal(verify(null, data, pub, sig), true);
  for (const shown of [inspect(id, { showHidden: true, depth: 5 }), JSON.stringify(id), String(id)]) {
    assert.doesNotMatch(shown, /PRIVATE KEY|BEGIN/);
  }
  assert.ok('privateKey' in id.ssh);
});

test('permissions wider than 0600 are refused like OpenSSH does', async () => {
  const key = generateEd25519('c');
  const file = tmp.file('open-key', key.privateKeyText, 0o644);
  await assert.rejects(loadIdentity({ kind: 'file', path: file }), (e: unknown) => {
    assert.ok(e instanceof IdentityError);
    assert.equal(e.code, 'bad-permissions');
    assert.match(e.message, /permissions 0644 for key file .* are too open/);
    assert.match(e.message, /chmod 600/);
    assert.ok(!e.message.includes(key.privateKeyText.slice(40, 80)));
    return true;
  });
});

test('missing file, wrong key type, public key instead of private, not a key', async () => {
  await assert.rejects(loadIdentity({ kind: 'file', path: `${tmp.dir}/nope` }), (e: unknown) => e instanceof IdentityError && e.code === 'not-found');
  const ecdsa = tmp.file('ecdsa');
  keygen(['-q', '-t', 'ecdsa', '-N', '', '-f', ecdsa]);
  await assert.rejects(loadIdentity({ kind: 'file', path: ecdsa }), (e: unknown) => e instanceof IdentityError && e.code === 'unsupported-key-type' && /Ed25519/.test(e.message));
  const pub = tmp.file('pubonly', generateEd25519('p').publicKeyLine + '\n', 0o600);
  await assert.rejects(loadIdentity({ kind: 'file', path: pub }), (e: unknown) => e instanceof IdentityError && e.code === 'not-a-key' && /public key/.test(e.message));
  const junk = tmp.file('junk', 'hello\n', 0o600);
  await assert.rejects(loadIdentity({ kind: 'file', path: junk }), (e: unknown) => e instanceof IdentityError && e.code === 'not-a-key' && !/hello/.test(e.message));
});

test('an encrypted key: no TTY → clear error; prompt → retries a wrong passphrase, accepts the right one', async () => {
  const file = tmp.file('enc');
  keygen(['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'enc', '-f', file]);
  await assert.rejects(loadIdentity({ kind: 'file', path: file }), (e: unknown) => {
    assert.ok(e instanceof IdentityError);
    assert.equal(e.code, 'passphrase-required');
    assert.match(e.message, /encrypted and there is no TTY/);
    assert.match(e.message, /--identity agent/);
    return true;
  });
  const answers = ['wrong', 'correct horse'];
  const id = await loadIdentity({ kind: 'file', path: file }, { promptPassphrase: async () => answers.shift()! });
  assert.equal(answers.length, 0);
  assert.equal(id.keyid, fingerprintByOpenSsh(file));

  let asked = 0;
  await assert.rejects(
    loadIdentity({ kind: 'file', path: file }, { promptPassphrase: async () => (asked++, 'nope') }),
    (e: unknown) => e instanceof IdentityError && e.code === 'bad-passphrase' && !/nope/.test(e.message),
  );
  assert.equal(asked, 3);
});

test('readKeyFile (keys import) decrypts an encrypted key to plain OpenSSH text', async () => {
  const file = tmp.file('import-enc');
  keygen(['-q', '-t', 'ed25519', '-N', 's3cret', '-C', 'carol@desk', '-f', file]);
  await assert.rejects(readKeyFile(file), (e: unknown) => e instanceof IdentityError && e.code === 'passphrase-required');
  await assert.rejects(readKeyFile(file, 'bad'), (e: unknown) => e instanceof IdentityError && e.code === 'bad-passphrase');
  const m = await readKeyFile(file, 's3cret');
  assert.equal(m.keyid, fingerprintByOpenSsh(file));
  assert.equal(m.publicKeyLine, keygen(['-y', '-P', 's3cret', '-f', file]).trim());
  const plain = tmp.file('imported', m.privateKeyText, 0o600);
  assert.equal(keygen(['-y', '-P', '', '-f', plain]).trim(), m.publicKeyLine, 'stored text is unencrypted');
  // The same signing key: the imported text signs what the public key verifies.
  const id = await loadIdentity({ kind: 'file', path: plain });
  const sig = await id.sign(Buffer.from('x'));
  assert.ok(verify(null, Buffer.from('x'), ed25519KeyFromBlob(parseOpenSshPublicKey(m.publicKeyLine).blob), sig));
});
