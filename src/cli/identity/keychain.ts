/**
 * opsctl's keys in the OS keychain (@napi-rs/keyring, loaded on first use):
 * service `opsctl`, account = key name, secret = OpenSSH private key text.
 * Every failure to reach the keychain becomes a KeychainUnavailableError.
 */
import { KeychainUnavailableError } from './keychain-unavailable-error.js';

export const KEYCHAIN_SERVICE = 'opsctl';

// A GUI unlock prompt may legitimately take a while; a dead bus must not hang us.
const TIMEOUT_MS = 30_000;

type Keyring = typeof import('@napi-rs/keyring');
let loading: Promise<Keyring> | undefined;

async function keyring(): Promise<Keyring> {
  loading ??= import('@napi-rs/keyring').then((m) => ((m as unknown as { default?: Keyring }).default ?? m) as Keyring);
  try {
    return await loading;
  } catch (e) {
    loading = undefined;
    throw new KeychainUnavailableError(`cannot load the keychain library: ${(e as Error).message}`);
  }
}

async function guard<T>(op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await op(AbortSignal.timeout(TIMEOUT_MS));
  } catch (e) {
    if (e instanceof KeychainUnavailableError) throw e;
    const msg = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (e as Error).message;
    throw new KeychainUnavailableError(msg);
  }
}

/** Every account under the opsctl service (secrets are dropped at once). */
async function accounts(): Promise<string[]> {
  const k = await keyring();
  const creds = await guard((signal) => k.findCredentialsAsync(KEYCHAIN_SERVICE, undefined, signal));
  return creds.map((c) => c.account).sort();
}

/** Whether the OS keychain can be used right now. */
export async function keychainAvailable(): Promise<boolean> {
  try {
    await accounts();
    return true;
  } catch {
    return false;
  }
}

/** The private key text stored under NAME, or null when there is none. */
export async function keychainGet(name: string): Promise<string | null> {
  const k = await keyring();
  const value = await guard((signal) => new k.AsyncEntry(KEYCHAIN_SERVICE, name).getPassword(signal));
  if (value !== null) return value;
  // Without a Secret Service the library answers "no entry" instead of failing:
  // ask once more in a way that does fail, so the operator hears the real reason.
  await accounts();
  return null;
}

/** Stores (or replaces) the private key text under NAME. */
export async function keychainSet(name: string, privateKeyText: string): Promise<void> {
  const k = await keyring();
  await guard((signal) => new k.AsyncEntry(KEYCHAIN_SERVICE, name).setPassword(privateKeyText, signal));
}

/** Removes NAME; false when there was no such entry. */
export async function keychainDelete(name: string): Promise<boolean> {
  const k = await keyring();
  return guard((signal) => new k.AsyncEntry(KEYCHAIN_SERVICE, name).deletePassword(signal));
}

/** Names of every opsctl key in the keychain, sorted. */
export async function keychainList(): Promise<string[]> {
  return accounts();
}
