import fs from 'node:fs/promises';

/**
 * The last `limit` lines of a JSON Lines file, parsed, oldest first. Reads
 * backwards in chunks so a long log costs only what is returned. A line that
 * is not JSON is returned as `{ unparseable: <text> }` rather than hidden.
 */
export async function readTail(file: string, limit: number): Promise<unknown[]> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const { size } = await fh.stat();
    const chunk = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    const count = () => { let n = 0; for (const b of buf) if (b === 10) n++; return n; };
    while (pos > 0 && count() <= limit) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const part = Buffer.alloc(len);
      await fh.read(part, 0, len, pos);
      buf = Buffer.concat([part, buf]);
    }
    const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    // When we stopped mid-file the first line may be partial: drop it.
    if (pos > 0) lines.shift();
    return lines.slice(-limit).map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return { unparseable: l.slice(0, 2000) };
      }
    });
  } finally {
    await fh.close();
  }
}
