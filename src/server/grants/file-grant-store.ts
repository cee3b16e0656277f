import { isRole } from '../../protocol/index.js';
import type { GrantStore, StoredGrant } from '../options.js';
import { readPrivateFile, replacePrivateFile } from '../private-file.js';
import { grantEndedAt } from './grant-state.js';

function isStoredGrant(v: unknown): v is StoredGrant {
  const g = v as Partial<StoredGrant> | null;
  return !!g && typeof g === 'object'
    && typeof g.id === 'string' && typeof g.keyid === 'string' && typeof g.publicKey === 'string'
    && typeof g.principal === 'string' && isRole(g.role)
    && typeof g.createdAt === 'string' && typeof g.expiresAt === 'string' && Number.isFinite(Date.parse(g.expiresAt))
    && typeof g.grantedBy === 'string' && typeof g.reason === 'string'
    // Lineage (absent in grants stored before it existed).
    && (g.actsFor === undefined || typeof g.actsFor === 'string')
    && (g.derivedFrom === undefined || (Array.isArray(g.derivedFrom) && g.derivedFrom.every((x) => typeof x === 'string')))
    && (g.parents === undefined || (Array.isArray(g.parents) && g.parents.every((x) => typeof x === 'string')));
}

/**
 * The default grant store of a single instance: one JSON file in the data
 * dir, replaced atomically on every change (temp file 0600 in the same
 * directory, fsync, rename, fsync the directory), so a crash leaves either
 * the old or the new grants, never half a file; read and written as every
 * file of the port's own (src/server/README.md, "Files"). Changes go through one
 * queue, so revoke() and claimExpiry() are conditional updates as the
 * GrantStore contract requires.
 */
export class FileGrantStore implements GrantStore {
  readonly shared = false;
  private grants: StoredGrant[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<StoredGrant[]> {
    const text = await readPrivateFile(this.file, 'grant store');
    if (text === undefined) {
      this.grants = [];
      return [];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Refuse rather than start with no grants: a reset would silently drop revocations' history and active grants alike.
      throw new Error(`grant store ${this.file} is not valid JSON; fix or remove it`);
    }
    const list = (parsed as { grants?: unknown })?.grants;
    if (!Array.isArray(list)) throw new Error(`grant store ${this.file} has no "grants" list`);
    const bad = list.findIndex((g) => !isStoredGrant(g));
    if (bad >= 0) throw new Error(`grant store ${this.file}: entry ${bad} is not a grant`);
    this.grants = (list as StoredGrant[]).map((g) => ({ ...g }));
    return this.grants.map((g) => ({ ...g }));
  }

  insert(grant: StoredGrant): Promise<void> {
    return this.change((all) => {
      if (all.some((g) => g.id === grant.id)) throw new Error(`grant ${grant.id} exists already`);
      return { next: [...all, { ...grant }], result: undefined };
    });
  }

  revoke(id: string, revokedBy: string, revokedAt: string, endedWith?: string): Promise<StoredGrant | undefined> {
    return this.change((all) => {
      const g = all.find((x) => x.id === id);
      if (!g || g.revokedAt || Date.parse(g.expiresAt) <= Date.parse(revokedAt)) return { next: undefined, result: undefined };
      const updated = { ...g, revokedAt, revokedBy, ...(endedWith ? { endedWith } : {}) };
      return { next: all.map((x) => (x.id === id ? updated : x)), result: { ...updated } };
    });
  }

  claimExpiry(id: string, at: string): Promise<boolean> {
    return this.change((all) => {
      const g = all.find((x) => x.id === id);
      if (!g || g.expiryRecordedAt || g.revokedAt) return { next: undefined, result: false };
      return { next: all.map((x) => (x.id === id ? { ...x, expiryRecordedAt: at } : x)), result: true };
    });
  }

  prune(before: string): Promise<void> {
    const cut = Date.parse(before);
    return this.change((all) => {
      const next = all.filter((g) => grantEndedAt(g) > cut || (!g.revokedAt && !g.expiryRecordedAt));
      return { next: next.length === all.length ? undefined : next, result: undefined };
    });
  }

  /** Runs one change in the queue; `next: undefined` means nothing to write. */
  private change<T>(fn: (all: StoredGrant[]) => { next: StoredGrant[] | undefined; result: T }): Promise<T> {
    const p = this.queue.then(async () => {
      if (!this.grants) await this.load();
      const { next, result } = fn(this.grants!);
      if (next) {
        await replacePrivateFile(this.file, JSON.stringify({ version: 1, grants: next }, null, 2) + '\n');
        this.grants = next;
      }
      return result;
    });
    this.queue = p.catch(() => undefined);
    return p;
  }
}
