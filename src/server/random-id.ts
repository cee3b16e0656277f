import { randomBytes } from 'node:crypto';

/** A random url-safe id: `bytes` random bytes, base64url (12 bytes → 16 chars). */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url');
}
