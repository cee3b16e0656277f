/** The protocol's canonical JSON, also used by the server (plan hashes, idempotency fingerprints). */
export { canonicalJson } from '../protocol/canonical-json.js';
