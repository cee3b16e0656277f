import fs from 'node:fs';
import { InternalPortConfigError } from '../config-error.js';
import type { PortLog } from '../logger.js';
import { personKey } from './person.js';
import { parseAuthorizedKeys, type AllowlistEntry } from './parse-authorized-keys.js';

/**
 * The allowlist file, reloaded whenever it changes. Each lookup stats the
 * file (a few microseconds), which catches edits, atomic replacements and
 * deletions without relying on fs.watch semantics.
 */
export class Allowlist {
  private entries = new Map<string, AllowlistEntry>();
  private stamp = '';

  constructor(private readonly file: string, private readonly log: PortLog) {}

  /** First load at start: a missing file or one without any usable key is fatal. */
  loadInitial(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      throw new InternalPortConfigError(`allowlist ${this.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the internal port needs at least one authorized key`);
    }
    this.apply(text, this.currentStamp());
    if (this.entries.size === 0) {
      throw new InternalPortConfigError(`allowlist ${this.file} has no usable ssh-ed25519 key; the internal port refuses to start with an empty allowlist`);
    }
  }

  get size(): number {
    this.refresh();
    return this.entries.size;
  }

  /** Keys as of the newest lookup (which stat'ed the file), without a stat of its own. */
  get loadedSize(): number {
    return this.entries.size;
  }

  lookup(keyid: string): AllowlistEntry | undefined {
    this.refresh();
    return this.entries.get(keyid);
  }

  /** An allowlisted key whose name is this person's (compared as samePerson does), if any. */
  findPerson(name: string): AllowlistEntry | undefined {
    this.refresh();
    const key = personKey(name);
    for (const e of this.entries.values()) if (personKey(e.name) === key) return e;
    return undefined;
  }

  private currentStamp(): string {
    try {
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : 'missing';
    } catch {
      return 'missing';
    }
  }

  private refresh(): void {
    const stamp = this.currentStamp();
    if (stamp === this.stamp) return;
    if (stamp === 'missing') {
      // Fail closed: a deleted allowlist revokes everyone until it is back.
      this.entries = new Map();
      this.stamp = stamp;
      this.log('warn', `allowlist ${this.file} is gone; every request is refused until it is restored`);
      return;
    }
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      this.entries = new Map();
      this.stamp = stamp;
      this.log('warn', `allowlist ${this.file} cannot be read (${(e as Error).message}); every request is refused`);
      return;
    }
    this.apply(text, stamp);
    this.log('info', `allowlist ${this.file} reloaded: ${this.entries.size} key(s)`);
  }

  private apply(text: string, stamp: string): void {
    const parsed = parseAuthorizedKeys(text);
    for (const p of parsed.problems) this.log('warn', `allowlist ${this.file} line ${p.line} skipped: ${p.reason}`);
    this.entries = parsed.entries;
    this.stamp = stamp;
  }
}
