import fs from 'node:fs/promises';
import path from 'node:path';
import type { FlagStore, StoredFlag } from '../options.js';
import { randomId } from '../random-id.js';

/**
 * The default flag store: one JSON file, replaced atomically on every change
 * (temp file 0600 in the same directory, fsync, rename, fsync the directory),
 * so a crash leaves either the old or the new values, never half a file.
 */
export class FileFlagStore implements FlagStore {
  private values: Record<string, StoredFlag> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<Record<string, StoredFlag>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
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
      await this.writeAtomically(JSON.stringify({ version: 1, flags: next }, null, 2) + '\n');
      this.values = next;
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async writeAtomically(text: string): Promise<void> {
    const dir = path.dirname(path.resolve(this.file));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${randomId(8)}.tmp`);
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
