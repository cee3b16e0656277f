/**
 * keys generate/import/list/show/public/remove against a real Secret Service
 * (gnome-keyring in the test runner's private D-Bus session), and a generated
 * key used end to end: pasted into the port's allowlist, then signing real
 * requests as --identity keychain:NAME. No private key material may appear in
 * any output. The Secret Service is a private one started by this file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startCliHarness, cleanupKeys, type CliHarness, type CliResult } from '../helpers/cli-harness.js';
import { fingerprintOfPublicKeyLine } from '../../src/protocol/fingerprint.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';

/**
 * A private Secret Service for this file: its own session bus and its own
 * gnome-keyring (in a temp HOME), so keychain tests of other files running
 * at the same time never see our entries (gnome-keyring fails an
 * enumeration when another client deletes an item meanwhile).
 */
interface PrivateKeyring {
  address: string;
  stop(): Promise<void>;
}

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Spawns a child and resolves with it once its stdout matches `ready`. */
function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, input?: string): Promise<{ child: ChildProcess; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not start: ${err}`));
    }, 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, out });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.stdin!.on('error', () => {});
    child.stdin!.end(input ?? '');
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startPrivateKeyring(home: string): Promise<PrivateKeyring> {
  const bus = await startChild('dbus-daemon', ['--session', '--nofork', '--nopidfile', '--print-address=1'], process.env, /\n/);
  const address = bus.out.split('\n')[0]!;
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_RUNTIME_DIR: home, DBUS_SESSION_BUS_ADDRESS: address };
  // Under the test runner a keyring is already up and named in the
  // environment; a daemon that sees it would just hand over to it.
  delete env.GNOME_KEYRING_CONTROL;
  delete env.GNOME_KEYRING_PID;
  const keyringd = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
  keyringd.stdin!.on('error', () => {});
  keyringd.stdin!.end('opsctl-cli-test');
  // Its stdout is block-buffered when piped: ready is when it owns the
  // Secret Service name on our bus.
  const owned = () =>
    spawnSync('dbus-send', ['--session', '--dest=org.freedesktop.DBus', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'], { env, encoding: 'utf8' }).stdout.includes('boolean true');
  for (let i = 0; !owned(); i++) {
    if (i > 200 || keyringd.exitCode !== null) {
      await stopChild(keyringd);
      await stopChild(bus.child);
      throw new Error('gnome-keyring-daemon did not take the Secret Service name');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    address,
    async stop() {
      await stopChild(keyringd);
      await stopChild(bus.child);
    },
  };
}

const haveTools = which('dbus-daemon') && which('gnome-keyring-daemon');
const skip = haveTools ? false : 'dbus-daemon or gnome-keyring-daemon missing (apt-get install dbus gnome-keyring)';
if (!haveTools && ci) throw new Error('CI: keys tests need dbus-daemon and gnome-keyring-daemon');

let h: CliHarness;
let keyring: PrivateKeyring | undefined;
let savedBus: string | undefined;
const prefix = `clitest-${randomBytes(4).toString('hex')}`;
const created = new Set<string>();
before(async () => {
  if (skip) return;
  h = await startCliHarness();
  keyring = await startPrivateKeyring(fs.mkdtempSync(path.join(h.dir, 'keyring-')));
  savedBus = process.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address;
});
after(async () => {
  if (h) {
    for (const name of created) await h.run(['--yes', 'keys', 'remove', name]);
    await h.close();
  }
  if (keyring) {
    await keyring.stop();
    if (savedBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = savedBus;
  }
  cleanupKeys();
});

function noSecrets(...results: CliResult[]): void {
  for (const r of results) {
    for (const text of [r.stdout, r.stderr]) {
      assert.doesNotMatch(text, /PRIVATE KEY/);
      assert.doesNotMatch(text, /b3BlbnNzaC1rZXktdjE/, 'no openssh-key-v1 blob');
    }
  }
}

test('generate prints the public key line (and an allowlist hint), never the private key; it then signs real requests', { skip }, async () => {
  const name = `${prefix}-gen`;
  created.add(name);
  const r = await h.run(['keys', 'generate', name, '--comment', 'gina']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ gina\n$/);
  const line = r.stdout.trim();
  assert.match(r.stderr, new RegExp(`role="operator" ${line.replace(/[+/]/g, '\\$&')}`));
  assert.match(r.stderr, new RegExp(`--identity keychain:${name}`));
  const again = await h.run(['keys', 'generate', name]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists; pass --force/);

  const denied = await h.run(['--identity', `keychain:${name}`, 'health'], { realIdentity: true });
  assert.equal(denied.code, 3, 'not in the allowlist yet');
  fs.appendFileSync(h.allowlistFile, `role="operator" ${line}\n`);
  const ok = await h.run(['--identity', `keychain:${name}`, 'flags', 'set', 'greeting', 'from-keychain'], { realIdentity: true });
  assert.equal(ok.code, 0, ok.stderr);
  const rec = (await h.auditSettled()).filter((x) => x.endpoint === 'flags.set').pop()!;
  assert.equal(rec.principal, 'gina');
  assert.equal(rec.keyid, fingerprintOfPublicKeyLine(line));
  noSecrets(r, again, denied, ok);
});

test('list, show, public and -o json agree on the key', { skip }, async () => {
  const name = `${prefix}-show`;
  created.add(name);
  const gen = await h.run(['-o', 'json', 'keys', 'generate', name]);
  const doc = gen.json();
  assert.equal(doc.keyid, fingerprintOfPublicKeyLine(doc.publicKey));
  assert.equal(doc.identity, `keychain:${name}`);
  const pub = await h.run(['keys', 'public', name]);
  assert.equal(pub.stdout, `${doc.publicKey}\n`);
  const show = await h.run(['keys', 'show', name]);
  assert.match(show.stdout, new RegExp(`^keyid\\s+${doc.keyid.replace(/[+/]/g, '\\$&')}$`, 'm'));
  assert.match(show.stdout, new RegExp(`^comment\\s+${name}$`, 'm'));
  const list = await h.run(['-o', 'json', 'keys', 'list']);
  const row = list.json().keys.find((k: { name: string }) => k.name === name);
  assert.equal(row.keyid, doc.keyid);
  const piped = await h.run(['keys', 'list']);
  assert.match(piped.stdout, new RegExp(`^${name}\\t${doc.keyid.replace(/[+/]/g, '\\$&')}\\t${name}\\t$`, 'm'));
  noSecrets(gen, pub, show, list, piped);
});

test('import an ssh-keygen file; an encrypted one asks for its passphrase on a terminal and refuses without one', { skip }, async () => {
  const name = `${prefix}-imp`;
  created.add(name);
  const key = h.keys.viewer;
  const r = await h.run(['keys', 'import', name, key.privatePath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${key.publicLine}\n`);
  const viaKeychain = await h.run(['--identity', `keychain:${name}`, '-o', 'json', 'health'], { realIdentity: true });
  assert.equal(viaKeychain.code, 0, viaKeychain.stderr);

  const enc = path.join(h.dir, 'id_encrypted');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame', '-C', 'enc', '-f', enc]);
  const encName = `${prefix}-enc`;
  created.add(encName);
  const noTty = await h.run(['keys', 'import', encName, enc]);
  assert.equal(noTty.code, 2, noTty.stderr);
  assert.match(noTty.stderr, /is encrypted and there is no terminal to ask for its passphrase/);
  const tty = await h.run(['keys', 'import', encName, enc], { tty: true, answers: [{ when: /Passphrase for/, send: 'sesame' }] });
  assert.equal(tty.code, 0, tty.stderr);
  assert.match(tty.stderr, /stored decrypted/);
  assert.equal(tty.stdout.trim().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), fs.readFileSync(`${enc}.pub`, 'utf8').trim());
  assert.doesNotMatch(tty.stdout + tty.stderr, /sesame/, 'the passphrase is not echoed');
  noSecrets(r, viaKeychain, noTty, tty);
});

test('remove asks first: exit 4 without a terminal or --yes, then removes with --yes', { skip }, async () => {
  const name = `${prefix}-rm`;
  created.add(name);
  assert.equal((await h.run(['keys', 'generate', name])).code, 0);
  const refused = await h.run(['keys', 'remove', name]);
  assert.equal(refused.code, 4);
  assert.equal((await h.run(['keys', 'show', name])).code, 0, 'still there');
  const declined = await h.run(['keys', 'remove', name], { tty: true, answers: [{ when: /Delete key/, send: 'n' }] });
  assert.equal(declined.code, 4);
  const removed = await h.run(['--yes', 'keys', 'remove', name]);
  assert.equal(removed.code, 0, removed.stderr);
  created.delete(name);
  const gone = await h.run(['keys', 'show', name]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /no key named/);
  assert.equal((await h.run(['keys', 'generate', 'bad name'])).code, 2);
});
