import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The digest of a held request: sha256 hex over the RFC 9421 signature base
 * the requester signed, one newline, then the body bytes. The base already
 * binds method, path, query, the content-digest and every covered header
 * (reason, idempotency key); the body makes params (expectedPlan included)
 * readable from the same bytes. An approver sends back the digest they
 * reviewed, so what runs is exactly what they saw.
 */
export function requestDigest(signatureBase: string, body: Buffer): string {
  return createHash('sha256').update(signatureBase, 'utf8').update('\n').update(body).digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Moved to auth/person.ts with the rest of what makes two signers one person. */
export { samePerson } from '../auth/person.js';
