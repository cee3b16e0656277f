import { EventEmitter } from 'node:events';
import { ProblemError } from '../../protocol/index.js';
import { InternalPortConfigError } from '../config-error.js';
import type { PortLog } from '../logger.js';
import type { FlagChange, FlagDefinition, FlagReader, FlagStore, FlagValue, FlagView, StoredFlag, Unsubscribe } from '../options.js';
import { coerceFlagValue, definitionProblem, flagBounds } from './flag-value.js';
import { notifyAll } from './notify-all.js';
import { NAME_RE } from '../../protocol/names.js';

export type { FlagView };


const sameFlag = (a: StoredFlag | undefined, b: StoredFlag): boolean =>
  a !== undefined && a.value === b.value && a.updatedBy === b.updatedBy && a.updatedAt === b.updatedAt;

/**
 * Current flag values: definitions + the store. Changes are validated,
 * written to the store first (serialized), and only then become visible to
 * the service through the FlagReader. When the store reports changes
 * (FlagStore.subscribe, e.g. another replica's flags.set through a shared
 * store), they become visible here too, in the store's commit order.
 */
export class FlagService implements FlagReader {
  private readonly defs = new Map<string, FlagDefinition>();
  private readonly current = new Map<string, StoredFlag>();
  private readonly events = new EventEmitter();
  private readonly listeners = new Set<(change: FlagChange) => void>();
  /** Writes of this service in flight, by name: the store's echo of one is not a new change. */
  private readonly inFlight = new Map<string, { flag: StoredFlag; echoed: boolean }>();
  private unsubscribeStore: Unsubscribe | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(definitions: FlagDefinition[], private readonly store: FlagStore, private readonly log: PortLog) {
    for (const def of definitions) {
      if (!def || !NAME_RE.test(def.name)) throw new InternalPortConfigError(`flag name ${JSON.stringify(def?.name)} is invalid (letters, digits, _ . -)`);
      if (this.defs.has(def.name)) throw new InternalPortConfigError(`flag ${def.name} is defined twice`);
      if (!def.description) throw new InternalPortConfigError(`flag ${def.name} needs a description`);
      const problem = definitionProblem(def);
      if (problem) throw new InternalPortConfigError(`flag ${def.name} ${problem}`);
      try {
        coerceFlagValue(def, def.default);
      } catch (e) {
        throw new InternalPortConfigError(`flag ${def.name} has an invalid default: ${(e as Error).message}`);
      }
      this.defs.set(def.name, def);
      this.current.set(def.name, { value: def.default, updatedBy: null, updatedAt: null });
    }
    this.events.setMaxListeners(0);
  }

  /**
   * Subscribes to the store (when it can report changes), then reads it. A
   * stored value that no longer fits its definition (a flag whose type or
   * bounds changed in a new release) is replaced by the default, with a
   * warning, so the service never sees a value its code does not expect.
   */
  async load(): Promise<void> {
    this.unsubscribeStore ??= this.store.subscribe?.((change) => this.fromStore(change));
    const stored = await this.store.load();
    for (const [name, flag] of Object.entries(stored)) {
      const def = this.defs.get(name);
      if (!def) continue;
      try {
        const value = coerceFlagValue(def, flag?.value);
        this.current.set(name, { value, updatedBy: flag.updatedBy ?? null, updatedAt: flag.updatedAt ?? null });
      } catch {
        this.log('warn', `stored value of flag ${name} no longer fits its definition; using the default`);
      }
    }
  }

  /** Stops listening to the store (InternalPort.close()). */
  close(): void {
    this.unsubscribeStore?.();
    this.unsubscribeStore = undefined;
  }

  get(name: string): FlagValue {
    const flag = this.current.get(name);
    if (!flag) throw new Error(`unknown flag ${name}`);
    return flag.value;
  }

  subscribe(listener: (change: FlagChange) => void): Unsubscribe {
    const own = (change: FlagChange): void => listener(change);
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  on(event: 'change', listener: (name: string, value: FlagValue) => void): void {
    this.events.on(event, listener);
  }

  off(event: 'change', listener: (name: string, value: FlagValue) => void): void {
    this.events.off(event, listener);
  }

  list(): FlagView[] {
    return [...this.defs.keys()].map((n) => this.view(n)!);
  }

  view(name: string): FlagView | undefined {
    const def = this.defs.get(name);
    const cur = this.current.get(name);
    if (!def || !cur) return undefined;
    return this.viewOf(def, cur);
  }

  private viewOf(def: FlagDefinition, cur: StoredFlag): FlagView {
    const name = def.name;
    return {
      name,
      type: def.type,
      value: cur.value,
      default: def.default,
      description: def.description,
      updatedBy: cur.updatedBy,
      updatedAt: cur.updatedAt,
      ...flagBounds(def),
      ...(def.enum ? { enum: [...def.enum] } : {}),
    };
  }

  set(name: string, raw: unknown, who: string): Promise<FlagView> {
    const def = this.defs.get(name);
    if (!def) return Promise.reject(new ProblemError('not_found', `no flag named "${name}"`));
    const value = coerceFlagValue(def, raw);
    const p = this.queue.then(async () => {
      const flag: StoredFlag = { value, updatedBy: who, updatedAt: new Date().toISOString() };
      const mine = { flag, echoed: false };
      this.inFlight.set(name, mine);
      try {
        await this.store.save(name, flag);
      } catch (e) {
        throw this.storeFailure(name, e);
      } finally {
        this.inFlight.delete(name);
      }
      // If the store already reported this write, it (and anything committed
      // after it) is applied; applying it again could undo a newer change.
      if (!mine.echoed) this.apply(name, flag);
      // What this request wrote, even if a newer change already replaced it.
      return this.viewOf(def, flag);
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * A store that could not save (a full disk under the flag file, a database
   * that went away): 503 store.unavailable, the flag keeps its value. The
   * answer names only the error code — a message may carry the store's path
   * or address — and the service log keeps the whole error.
   */
  private storeFailure(name: string, e: unknown): ProblemError {
    if (e instanceof ProblemError) return e;
    const err = e as { code?: unknown; message?: unknown };
    this.log('error', `flag store could not save "${name}": ${typeof err?.message === 'string' ? err.message : String(e)}`);
    const code = typeof err?.code === 'string' && /^[A-Z0-9_]{2,32}$/.test(err.code) ? ` (${err.code})` : '';
    return new ProblemError('store.unavailable', `the flag store could not save "${name}"${code}; the flag keeps its value`);
  }

  /** A change the store reports: ours (already applied or about to be) or another writer's. */
  private fromStore(change: FlagChange): void {
    const def = this.defs.get(change.name);
    if (!def) return;
    let value: FlagValue;
    try {
      value = coerceFlagValue(def, change.value);
    } catch {
      this.log('warn', `the flag store reported a value of flag ${change.name} that does not fit its definition; ignored`);
      return;
    }
    const flag: StoredFlag = { value, updatedBy: change.updatedBy ?? null, updatedAt: change.updatedAt ?? null };
    const mine = this.inFlight.get(change.name);
    if (mine && sameFlag(mine.flag, flag)) mine.echoed = true;
    this.apply(change.name, flag);
  }

  private apply(name: string, flag: StoredFlag): void {
    const before = this.current.get(name);
    if (sameFlag(before, flag)) return;
    this.current.set(name, flag);
    const change: FlagChange = { name, value: flag.value, previous: before?.value, updatedBy: flag.updatedBy, updatedAt: flag.updatedAt };
    notifyAll(this.listeners, change, (e) => this.log('error', `flag change listener for ${name} failed: ${(e as Error)?.message ?? String(e)}`));
    if (before?.value !== flag.value) {
      try {
        this.events.emit('change', name, flag.value);
      } catch (e) {
        this.log('error', `flag change listener for ${name} failed: ${(e as Error).message}`);
      }
    }
  }
}
