import { EventEmitter } from 'node:events';
import { ProblemError } from '../../protocol/index.js';
import { InternalPortConfigError } from '../config-error.js';
import type { PortLog } from '../logger.js';
import type { FlagDefinition, FlagReader, FlagStore, FlagValue, StoredFlag } from '../options.js';
import { coerceFlagValue } from './flag-value.js';

/** The flag object of flags.list / flags.get. */
export interface FlagView {
  name: string;
  type: FlagDefinition['type'];
  value: FlagValue;
  default: FlagValue;
  description: string;
  updatedBy: string | null;
  updatedAt: string | null;
  min?: number;
  max?: number;
  enum?: string[];
}

const FLAG_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Current flag values: definitions + the store. Changes are validated,
 * written to the store first (serialized), and only then become visible to
 * the service through the FlagReader.
 */
export class FlagService implements FlagReader {
  private readonly defs = new Map<string, FlagDefinition>();
  private readonly current = new Map<string, StoredFlag>();
  private readonly events = new EventEmitter();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(definitions: FlagDefinition[], private readonly store: FlagStore, private readonly log: PortLog) {
    for (const def of definitions) {
      if (!def || !FLAG_NAME.test(def.name)) throw new InternalPortConfigError(`flag name ${JSON.stringify(def?.name)} is invalid (letters, digits, _ . -)`);
      if (this.defs.has(def.name)) throw new InternalPortConfigError(`flag ${def.name} is defined twice`);
      if (!def.description) throw new InternalPortConfigError(`flag ${def.name} needs a description`);
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

  async load(): Promise<void> {
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

  get(name: string): FlagValue {
    const flag = this.current.get(name);
    if (!flag) throw new Error(`unknown flag ${name}`);
    return flag.value;
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
    return {
      name,
      type: def.type,
      value: cur.value,
      default: def.default,
      description: def.description,
      updatedBy: cur.updatedBy,
      updatedAt: cur.updatedAt,
      ...(def.type === 'percentage' ? { min: 0, max: 100 } : {}),
      ...(def.type === 'number' && def.min !== undefined ? { min: def.min } : {}),
      ...(def.type === 'number' && def.max !== undefined ? { max: def.max } : {}),
      ...(def.enum ? { enum: def.enum } : {}),
    };
  }

  set(name: string, raw: unknown, who: string): Promise<FlagView> {
    const def = this.defs.get(name);
    if (!def) return Promise.reject(new ProblemError('not_found', `no flag named "${name}"`));
    const value = coerceFlagValue(def, raw);
    const p = this.queue.then(async () => {
      const flag: StoredFlag = { value, updatedBy: who, updatedAt: new Date().toISOString() };
      await this.store.save(name, flag);
      const before = this.current.get(name)?.value;
      this.current.set(name, flag);
      if (before !== value) {
        try {
          this.events.emit('change', name, value);
        } catch (e) {
          this.log('error', `flag change listener for ${name} failed: ${(e as Error).message}`);
        }
      }
      return this.view(name)!;
    });
    this.queue = p.catch(() => undefined);
    return p;
  }
}
