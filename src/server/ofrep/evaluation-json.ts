import { rolloutEvaluation, staticEvaluation } from '../flags/evaluate-flag.js';
import type { FlagView } from '../options.js';

/** An OFREP evaluation of one flag: the JSON text of a success, or of a failure with its HTTP status. */
export type OfrepEvaluation = { ok: true; json: string } | { ok: false; status: number; json: string };

/**
 * Evaluates one flag for OFREP, through the same functions as the Node
 * provider (flags/evaluate-flag.ts). OFREP's request carries no type, so a
 * percentage flag answers as what it is for: a boolean rollout for the
 * context's targetingKey (TARGETING_KEY_MISSING without one), with the
 * percentage and the key's bucket in `metadata`.
 */
export function evaluateForOfrep(flag: FlagView, targetingKey: string | undefined): OfrepEvaluation {
  const evaluation = flag.type === 'percentage' ? rolloutEvaluation(flag, targetingKey) : staticEvaluation(flag);
  if ('errorCode' in evaluation) return { ok: false, status: 400, json: failureJson(flag.name, evaluation.errorCode, evaluation.message) };
  // Who changed a flag names an operator: that is for the audit log and the
  // signed port, not for every local process that can reach this listener.
  const { updatedBy: _who, ...metadata } = evaluation.metadata;
  const members = [
    `"key":${JSON.stringify(flag.name)}`,
    `"value":${valueJson(flag, evaluation.value)}`,
    // OFREP's reasons have no DEFAULT: a flag nobody has set is as static as one that was (variant "default" tells them apart).
    `"reason":${JSON.stringify(evaluation.reason === 'DEFAULT' ? 'STATIC' : evaluation.reason)}`,
    `"variant":${JSON.stringify(evaluation.variant)}`,
    `"metadata":${JSON.stringify(metadata)}`,
  ];
  return { ok: true, json: `{${members.join(',')}}` };
}

/** `{key, errorCode, errorDetails}`, OFREP's evaluation failure. */
export function failureJson(key: string, errorCode: string, errorDetails: string): string {
  return JSON.stringify({ key, errorCode, errorDetails });
}

/**
 * A value as JSON, its number typed by the flag: OFREP leaves integer vs
 * float to how each language parses the JSON number, so a `number` flag is
 * always written with a fraction (5.0) and an `integer` flag never is. A
 * Python or Java service then reads a number flag as a float and an integer
 * flag as an int, whatever the current value happens to be.
 */
function valueJson(flag: FlagView, value: unknown): string {
  if (flag.type === 'number' && typeof value === 'number' && Number.isInteger(value)) return value.toFixed(1);
  return JSON.stringify(value);
}
