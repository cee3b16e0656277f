import { randomFillSync } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time (a request id is asked
 * for on every request; one randomBytes() call each costs more than the id).
 * Every byte is used once.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function nextByte(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]!;
}

/**
 * A random id of `length` letters and digits (16 → about 95 bits). Only
 * alphanumerics, so an id never starts with "-" and can be passed to a
 * command line as is (`opsctl jobs status ID`).
 */
export function randomId(length = 16): string {
  let out = '';
  while (out.length < length) {
    const b = nextByte();
    // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}
