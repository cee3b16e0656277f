/** The operator's identity: spec parsing, loading, the keychain store and key generation. */
export type { Identity, IdentitySpec } from './types.js';
export { parseIdentitySpec, formatIdentitySpec, isValidKeyName, expandHome } from './spec.js';
export { loadIdentity, type LoadIdentityOptions } from './load.js';
export { IdentityError, type IdentityErrorCode } from './identity-error.js';
export { KeychainUnavailableError } from './keychain-unavailable-error.js';
export { keychainAvailable, keychainGet, keychainSet, keychainDelete, keychainList, KEYCHAIN_SERVICE } from './keychain.js';
export { generateEd25519, readKeyFile, type KeyMaterial } from './keygen.js';
