import { createHash } from 'node:crypto';

/**
 * Where a key falls in a flag's rollout: a number in [0, 100), from SHA-256
 * of the flag name and the key. The same (flag, key) always lands in the
 * same place, whatever the process or replica, and different flags spread
 * the same users independently (a user in the first 5 % of one rollout is
 * not in the first 5 % of every other).
 */
export function rolloutBucket(flagName: string, targetingKey: string): number {
  // NUL between the two parts, so ("ab", "c") and ("a", "bc") hash apart.
  const digest = createHash('sha256').update(flagName).update('\0').update(targetingKey).digest();
  // 48 bits are exact in a double: uniform over [0, 1) with 2^48 steps.
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/**
 * Whether a key is in a rollout of `percentage` % (0..100). Monotonic: a key
 * that is in at p stays in at every p' ≥ p, so raising a rollout only adds
 * users; 0 takes nobody, 100 everybody.
 */
export function inRollout(flagName: string, targetingKey: string, percentage: number): boolean {
  return rolloutBucket(flagName, targetingKey) < percentage;
}
