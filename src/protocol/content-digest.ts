import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary } from 'structured-headers';

/** RFC 9530 `Content-Digest` algorithms the port understands, by RFC name. */
const ALGORITHMS = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

/** The `Content-Digest` field value for a body, e.g. `sha-256=:…:`. */
export function contentDigest(body: Uint8Array | string, alg: DigestAlgorithm = 'sha-256'): string {
  const digest = createHash(ALGORITHMS[alg]).update(body).digest('base64');
  return `${alg}=:${digest}:`;
}

export type DigestCheck = { ok: true } | { ok: false; detail: string };

/**
 * Checks a received `Content-Digest` against the body actually received.
 * Every supported algorithm present must match, and at least one must be
 * present; unknown algorithms are ignored as RFC 9530 allows.
 */
export function verifyContentDigest(header: string | undefined, body: Uint8Array): DigestCheck {
  if (!header) return { ok: false, detail: 'content-digest header is missing' };
  let dict;
  try {
    dict = parseDictionary(header);
  } catch {
    return { ok: false, detail: 'content-digest header is not a structured dictionary' };
  }
  let checked = 0;
  for (const [alg, member] of dict) {
    if (!(alg in ALGORITHMS)) continue;
    const value = member[0];
    if (!(value instanceof ArrayBuffer)) return { ok: false, detail: `content-digest ${alg} is not a byte sequence` };
    const expected = createHash(ALGORITHMS[alg as DigestAlgorithm]).update(body).digest();
    const got = Buffer.from(value);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return { ok: false, detail: `content-digest ${alg} does not match the body` };
    }
    checked++;
  }
  if (!checked) return { ok: false, detail: 'content-digest has no supported algorithm (sha-256, sha-512)' };
  return { ok: true };
}
