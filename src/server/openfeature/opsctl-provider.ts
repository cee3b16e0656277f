import {
  FlagNotFoundError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  TargetingKeyMissingError,
  TypeMismatchError,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { FlagChange, FlagReader, FlagView, Unsubscribe } from '../options.js';
import { rolloutEvaluation, staticEvaluation, type FlagEvaluation } from '../flags/evaluate-flag.js';
import { withArticle } from '../../protocol/wording.js';

/** What the provider reads: an InternalPort, or its `flags`. */
export type FlagSource = { readonly flags: FlagReader } | FlagReader;

const readerOf = (source: FlagSource): FlagReader => ('flags' in source && typeof (source as { flags: unknown }).flags === 'object' ? (source as { flags: FlagReader }).flags : (source as FlagReader));

/**
 * The OpenFeature provider over an internal port's flags (see
 * src/server/README.md, "OpenFeature"). Evaluation reads the port's current
 * values in process, with no I/O: the port already holds every flag, kept up
 * to date by flags.set and, with a shared store, by other replicas' changes.
 */
export class OpsctlProvider implements Provider {
  readonly metadata = { name: 'opsctl' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly flags: FlagReader;
  private unsubscribe: Unsubscribe | undefined;

  constructor(source: FlagSource) {
    this.flags = readerOf(source);
  }

  /** Called by the SDK on setProvider: from now on every flag change is a PROVIDER_CONFIGURATION_CHANGED event. */
  async initialize(): Promise<void> {
    this.unsubscribe ??= this.flags.subscribe((change) => this.changed(change));
  }

  /** Called by the SDK when the provider is replaced or OpenFeature closes. */
  async onClose(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  async resolveBooleanEvaluation(flagKey: string, _defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    const flag = this.find(flagKey);
    if (flag.type === 'boolean') return this.plain(flag, flag.value as boolean);
    if (flag.type === 'percentage') return this.rollout(flag, context);
    throw mismatch(flag, 'boolean');
  }

  async resolveNumberEvaluation(flagKey: string, _defaultValue: number): Promise<ResolutionDetails<number>> {
    const flag = this.find(flagKey);
    if (flag.type === 'number' || flag.type === 'integer' || flag.type === 'percentage') return this.plain(flag, flag.value as number);
    throw mismatch(flag, 'number');
  }

  async resolveStringEvaluation(flagKey: string, _defaultValue: string): Promise<ResolutionDetails<string>> {
    const flag = this.find(flagKey);
    if (flag.type === 'string') return this.plain(flag, flag.value as string);
    throw mismatch(flag, 'string');
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string): Promise<ResolutionDetails<T>> {
    throw mismatch(this.find(flagKey), 'object');
  }

  private find(flagKey: string): FlagView {
    const flag = this.flags.view(flagKey);
    if (!flag) throw new FlagNotFoundError(`no flag named "${flagKey}"`);
    return flag;
  }

  /** A value as the operator set it (STATIC), or the definition's default while nobody has (DEFAULT): flags/evaluate-flag.ts, shared with OFREP. */
  private plain<T>(flag: FlagView, value: T): ResolutionDetails<T> {
    return details(staticEvaluation(flag), value);
  }

  /** A percentage flag as a per-key rollout, decided exactly as the OFREP listener decides it. */
  private rollout(flag: FlagView, context: EvaluationContext): ResolutionDetails<boolean> {
    const evaluation = rolloutEvaluation(flag, context.targetingKey);
    if ('errorCode' in evaluation) throw new TargetingKeyMissingError(evaluation.message);
    return details(evaluation, evaluation.value);
  }

  private changed(change: FlagChange): void {
    this.events.emit(ProviderEvents.ConfigurationChanged, {
      flagsChanged: [change.name],
      message: `flag ${change.name} changed${change.updatedBy ? ` by ${change.updatedBy}` : ''}`,
      metadata: {
        ...(change.updatedBy !== null ? { updatedBy: change.updatedBy } : {}),
        ...(change.updatedAt !== null ? { updatedAt: change.updatedAt } : {}),
      },
    });
  }
}

function mismatch(flag: FlagView, asked: string): TypeMismatchError {
  const as = flag.type === 'percentage' ? 'a number, or a boolean rollout with a targetingKey' : flag.type === 'integer' ? 'a number' : withArticle(flag.type);
  return new TypeMismatchError(`flag "${flag.name}" is ${withArticle(flag.type)} flag, evaluated as ${asked}: read it as ${as}`);
}

function details<T>(evaluation: FlagEvaluation, value: T): ResolutionDetails<T> {
  return { value, reason: StandardResolutionReasons[evaluation.reason], variant: evaluation.variant, flagMetadata: evaluation.metadata };
}
