// keychain:NAME against a real Secret Service (gnome-keyring inside the test
// runner's dbus-run-session, OPSCTL_TEST_KEYRING=1), and the clear error when
// there is no keychain at all.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { keychainAvailable, keychainDelete, keychainGet, keychainList, keychainSet } from '../../src/cli/identity/keychain.js';
import { generateEd25519, readKeyFile } from '../../src/cli/identity/keygen.js';
import { loadIdentity } from '../../src/cli/identity/load.js';
import { IdentityError } from '../../src/cli/identity/identity-error.js';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { requireSshd, startSshd } from '../helpers/sshd.js';
import { echoServer, hop, tempDir } from '../transport/fixtures/route.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The keyring persists in ~/.local/share/keyrings: unique names, removed after.
const prefix = `opsctl-test-${process.pid}-${Date.now().toString(36)}`;
const created: string[] = [];
after(async () => {
  for (const name of created) await keychainDelete(name).catch(() => false);
});

function requireKeyring(t: TestContext): boolean {
  if (process.env.OPSCTL_TEST_KEYRING === '1') return false;
  const why = 'no test keyring (run through npm test, which starts gnome-keyring in dbus-run-session)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${why}`);
  t.skip(why);
  return true;
}

test('set, get, list, delete in the Secret Service', async (t) => {
  if (requireKeyring(t)) return;
  assert.equal(await keychainAvailable(), true);
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  created.push(a, b);
  const ka = generateEd25519('a');
  await keychainSet(a, ka.privateKeyText);
  await keychainSet(b, generateEd25519('b').privateKeyText);
  assert.equal(await keychainGet(a), ka.privateKeyText);
  const names = await keychainList();
  assert.ok(names.includes(a) && names.includes(b));
  assert.deepEqual(names, [...names].sort());
  await keychainSet(a, 'replaced');
  assert.equal(await keychainGet(a), 'replaced');
  assert.equal(await keychainDelete(a), true);
  assert.equal(await keychainDelete(a), false);
  assert.equal(await keychainGet(a), null);
  assert.ok(!(await keychainList()).includes(a));
});

test('keys import into the keychain, then --identity keychain:NAME connects and signs', async (t) => {
  if (requireKeyring(t) || requireSshd(t)) return;
  const tmp = tempDir();
  const name = `${prefix}-ops`;
  created.push(name);
  const file = tmp.file('id_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pp', '-C', 'kc@test', '-f', file]);
  const imported = await readKeyFile(file, 'pp');
  await keychainSet(name, imported.privateKeyText);
  const [b, h, web] = await Promise.all([
    startSshd({ authorizedKeys: [imported.publicKeyLine] }),
    startSshd({ authorizedKeys: [imported.publicKeyLine] }),
    echoServer(),
  ]);
  try {
    const id = await loadIdentity({ kind: 'keychain', name });
    assert.equal(id.keyid, imported.keyid);
    assert.equal(id.publicKeyLine, imported.publicKeyLine);
    const kh = tmp.file('kh', `${b.knownHostsLine}\n${h.knownHostsLine}\n`);
    const tunnel = await openTunnel({ bastions: [hop('b1', b)], host: hop('svc', h), internalPort: web.port, knownHostsFiles: [kh], timeoutMs: 5000 }, id);
    try {
      assert.equal((await tunnel.request({ method: 'GET', path: '/kc', headers: {} })).status, 200);
    } finally {
      await tunnel.close();
    }
  } finally {
    await Promise.all([b.stop(), h.stop(), web.close()]);
    tmp.remove();
  }
});

test('a missing keychain entry says how to create or import one', async (t) => {
  if (requireKeyring(t)) return;
  const name = `${prefix}-absent`;
  await assert.rejects(loadIdentity({ kind: 'keychain', name }), (e: unknown) => {
    assert.ok(e instanceof IdentityError);
    assert.equal(e.code, 'not-found');
    assert.equal(e.message, `no key named "${name}" in the keychain; create one with opsctl keys generate ${name} or import one with opsctl keys import ${name} FILE`);
    return true;
  });
});

test('no usable keychain (D-Bus unreachable): KeychainUnavailableError naming agent and key file', () => {
  const env: Record<string, string | undefined> = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/opsctl-bus' };
  delete env.OPSCTL_TEST_KEYRING;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/identity/fixtures/keychain-probe.ts')], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { name?: string; message?: string }> & { available: boolean };
  assert.equal(out.available, false);
  for (const what of [out.load!, out.list!]) {
    assert.equal(what.name, 'KeychainUnavailableError');
    assert.match(what.message!, /OS keychain is not available/);
    assert.match(what.message!, /--identity agent/);
    assert.match(what.message!, /--identity ~\/\.ssh\/id_ed25519/);
  }
});
