import type { FlagValue, FlagView } from '../options.js';
import { inRollout, rolloutBucket } from './rollout.js';

/**
 * How a flag of this port evaluates, in OpenFeature's terms. One home for
 * both readers of the flags outside the service's own code: the in-process
 * provider (`opsctl/server/openfeature`) and the OFREP listener
 * (src/server/ofrep/), so a Node service and a service in any other language
 * get the same value, variant and rollout decision for the same flag and
 * targetingKey (src/server/README.md, "OpenFeature" and "OFREP").
 */

/** OpenFeature resolution reasons this port gives: DEFAULT while nobody set the flag, STATIC once someone did, SPLIT for a rollout. */
export type EvaluationReason = 'DEFAULT' | 'STATIC' | 'SPLIT';

export interface FlagEvaluation<T extends FlagValue = FlagValue> {
  value: T;
  reason: EvaluationReason;
  /** `default` / `set` for a plain value, `on` / `off` for a rollout. */
  variant: string;
  /** type, updatedBy and updatedAt of the last change (absent while at the default), min/max; a rollout adds percentage and bucket. */
  metadata: Record<string, string | number | boolean>;
}

/** A percentage flag read as a rollout without a targetingKey. */
export interface TargetingKeyMissing {
  errorCode: 'TARGETING_KEY_MISSING';
  message: string;
}

/** The flag's current value as an operator set it, or its definition's default while nobody has. */
export function staticEvaluation(flag: FlagView): FlagEvaluation {
  const atDefault = flag.updatedAt === null;
  return { value: flag.value, reason: atDefault ? 'DEFAULT' : 'STATIC', variant: atDefault ? 'default' : 'set', metadata: metadataOf(flag) };
}

/**
 * A percentage flag as a per-key rollout: in when the key's bucket (SHA-256
 * of flag name and key, flags/rollout.ts) is below the percentage. A key is
 * required; an empty string is no key.
 */
export function rolloutEvaluation(flag: FlagView, targetingKey: unknown): FlagEvaluation<boolean> | TargetingKeyMissing {
  if (typeof targetingKey !== 'string' || targetingKey === '') {
    return {
      errorCode: 'TARGETING_KEY_MISSING',
      message: `flag "${flag.name}" is a percentage rollout: evaluating it as a boolean needs a targetingKey in the evaluation context`,
    };
  }
  const percentage = flag.value as number;
  const value = inRollout(flag.name, targetingKey, percentage);
  return {
    value,
    variant: value ? 'on' : 'off',
    reason: 'SPLIT',
    metadata: { ...metadataOf(flag), percentage, bucket: Math.floor(rolloutBucket(flag.name, targetingKey) * 100) / 100 },
  };
}

/** Who changed the flag and when (absent while it has its default), its type and bounds. */
function metadataOf(flag: FlagView): Record<string, string | number | boolean> {
  return {
    type: flag.type,
    ...(flag.updatedBy !== null ? { updatedBy: flag.updatedBy } : {}),
    ...(flag.updatedAt !== null ? { updatedAt: flag.updatedAt } : {}),
    ...(flag.min !== undefined ? { min: flag.min } : {}),
    ...(flag.max !== undefined ? { max: flag.max } : {}),
  };
}
