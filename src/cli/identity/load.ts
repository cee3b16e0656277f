import fs from 'node:fs/promises';
import { AgentIdentity } from './agent-identity.js';
import { IdentityError } from './identity-error.js';
import { KeyIdentity } from './key-identity.js';
import { keychainGet } from './keychain.js';
import { decodeEd25519PrivateKey, type Ed25519Key } from './private-key.js';
import type { Identity, IdentitySpec } from './types.js';

export interface LoadIdentityOptions {
  /** Asks for a key passphrase; give it only when there is a TTY. */
  promptPassphrase?: () => Promise<string>;
  /** Environment for SSH_AUTH_SOCK (default process.env). */
  env?: Record<string, string | undefined>;
}

const PASSPHRASE_ATTEMPTS = 3;

async function decodeWithPrompt(text: string, source: string, opts: LoadIdentityOptions, noTtyHint: string): Promise<Ed25519Key> {
  try {
    return await decodeEd25519PrivateKey(text, source);
  } catch (e) {
    if (!(e instanceof IdentityError) || e.code !== 'passphrase-required') throw e;
    if (!opts.promptPassphrase) {
      throw new IdentityError(`${source} is encrypted and there is no TTY to ask for its passphrase; ${noTtyHint}`, 'passphrase-required');
    }
  }
  for (let attempt = 1; ; attempt++) {
    const passphrase = await opts.promptPassphrase();
    try {
      return await decodeEd25519PrivateKey(text, source, passphrase);
    } catch (e) {
      if (!(e instanceof IdentityError) || e.code !== 'bad-passphrase' || attempt >= PASSPHRASE_ATTEMPTS) throw e;
    }
  }
}

async function readKeyFileText(path: string): Promise<string> {
  let mode: number;
  try {
    mode = (await fs.stat(path)).mode;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IdentityError(
      code === 'ENOENT' ? `key file ${path} does not exist` : `cannot read key file ${path}: ${(e as Error).message}`,
      code === 'ENOENT' ? 'not-found' : 'unreadable',
    );
  }
  // OpenSSH refuses a private key others can read; so does opsctl.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new IdentityError(
      `permissions ${octal} for key file ${path} are too open: a private key must not be readable by others (OpenSSH refuses it too); run chmod 600 ${path}`,
      'bad-permissions',
    );
  }
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new IdentityError(`cannot read key file ${path}: ${(e as Error).message}`, 'unreadable');
  }
}

/**
 * Loads the operator's identity. keychain: the key text from the OS keychain
 * (KeychainUnavailableError when there is none); agent: the Ed25519 key of
 * ssh-agent, which keeps signing; file: an OpenSSH key file, 0600 or
 * stricter, with a passphrase prompt when encrypted and a TTY is there.
 * Problems are IdentityError with a message that says what to do.
 */
export async function loadIdentity(spec: IdentitySpec, opts: LoadIdentityOptions = {}): Promise<Identity> {
  const env = opts.env ?? process.env;
  switch (spec.kind) {
    case 'agent':
      return AgentIdentity.connect(spec, env.SSH_AUTH_SOCK);
    case 'keychain': {
      const text = await keychainGet(spec.name);
      if (text === null) {
        throw new IdentityError(
          `no key named "${spec.name}" in the keychain; create one with opsctl keys generate ${spec.name} or import one with opsctl keys import ${spec.name} FILE`,
          'not-found',
        );
      }
      const key = await decodeWithPrompt(text, `keychain entry "${spec.name}"`, opts, `re-import it unencrypted with opsctl keys import ${spec.name} FILE`);
      return new KeyIdentity(spec, key);
    }
    case 'file': {
      const text = await readKeyFileText(spec.path);
      const key = await decodeWithPrompt(
        text,
        `key file ${spec.path}`,
        opts,
        `load it into ssh-agent (ssh-add ${spec.path}) and use --identity agent, or import it into the keychain (opsctl keys import NAME ${spec.path})`,
      );
      return new KeyIdentity(spec, key);
    }
  }
}
