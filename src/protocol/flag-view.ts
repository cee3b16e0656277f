/**
 * The shape of a feature flag on the wire (flags.list, flags.get, flags.set),
 * shared by the server that builds it and the CLI that shows it.
 */

/**
 * A flag's type. `integer` is a whole number (1.5 is refused); `number` any
 * finite number; `percentage` a number 0..100 that a service may also use as
 * a per-user rollout (see src/server/README.md, "OpenFeature").
 */
export type FlagType = 'boolean' | 'integer' | 'number' | 'string' | 'percentage';

export type FlagValue = boolean | number | string;

/** The flag object of flags.list / flags.get / flags.set. */
export interface FlagView {
  name: string;
  type: FlagType;
  value: FlagValue;
  default: FlagValue;
  description: string;
  /** The principal of the last change; null when never changed. */
  updatedBy: string | null;
  /** ISO 8601 time of the last change; null when never changed. */
  updatedAt: string | null;
  /** Inclusive bounds of integer, number and percentage flags (percentage: always 0 and 100). */
  min?: number;
  max?: number;
  /** The allowed values of a string flag. */
  enum?: string[];
}

export const FLAG_TYPES: readonly FlagType[] = ['boolean', 'integer', 'number', 'string', 'percentage'];
