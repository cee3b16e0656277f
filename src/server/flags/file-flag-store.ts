import path from 'node:path';
import { ensurePrivateDataDir } from '../private-data-dir.js';
import type { FlagChange, FlagStore, StoredFlag, Unsubscribe } from '../options.js';
import { readPrivateFile, replacePrivateFile } from '../private-file.js';
import { notifyAll } from './notify-all.js';

/**
 * The default flag store: one JSON file, replaced atomically on every change
 * (temp file 0600 in the same directory, fsync, rename, fsync the directory),
 * so a crash leaves either the old or the new values, never half a file.
 *
 * It is a single-instance store: subscribe() reports the changes saved
 * through this object (in this process), not edits of the file by others.
 */
export class FileFlagStore implements FlagStore {
  private values: Record<string, StoredFlag> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(change: FlagChange) => void>();

  constructor(readonly file: string) {}

  async load(): Promise<Record<string, StoredFlag>> {
    // Its directory is the service's own before the file is read (src/server/README.md, "Files").
    await ensurePrivateDataDir(path.dirname(path.resolve(this.file)));
    // Never through a link, never blocking on a FIFO.
    const text = await readPrivateFile(this.file, 'flag store');
    if (text === undefined) {
      this.values = {};
      return {};
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`flag store ${this.file} is not valid JSON; fix or remove it`);
    }
    const flags = (parsed as { flags?: unknown })?.flags;
    if (!flags || typeof flags !== 'object' || Array.isArray(flags)) throw new Error(`flag store ${this.file} has no "flags" object`);
    this.values = { ...(flags as Record<string, StoredFlag>) };
    return { ...this.values };
  }

  save(name: string, flag: StoredFlag): Promise<void> {
    const p = this.queue.then(async () => {
      if (!this.values) await this.load();
      const next = { ...this.values, [name]: flag };
      await replacePrivateFile(this.file, JSON.stringify({ version: 1, flags: next }, null, 2) + '\n');
      const previous = this.values?.[name]?.value;
      this.values = next;
      notifyAll(this.listeners, { name, value: flag.value, previous, updatedBy: flag.updatedBy, updatedAt: flag.updatedAt });
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Every change saved through this store from now on, after it is on disk. */
  subscribe(listener: (change: FlagChange) => void): Unsubscribe {
    const own = (change: FlagChange): void => listener(change);
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }
}
