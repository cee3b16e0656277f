import fs from 'node:fs/promises';

const CHUNK = 1024 * 1024;

/**
 * Reads `file` from byte `start` to `end` (default: its end) and calls
 * `onLine` for every complete line (without its newline) with the line's
 * byte offset. Returns the offset after the last complete line and the
 * bytes after it that have no newline (a torn tail); `onLine` may return
 * 'stop' to end the walk there. Chunked reads yield to
 * the event loop between chunks, so a long walk never holds up requests.
 */
export async function scanLines(
  file: string,
  onLine: (line: Buffer, offset: number) => void | 'stop',
  start = 0,
  end?: number,
): Promise<{ end: number; partial: Buffer }> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { end: start, partial: Buffer.alloc(0) };
    throw e;
  }
  try {
    const limit = end ?? (await fh.stat()).size;
    let pos = start;
    let carry = Buffer.alloc(0);
    let carryAt = start;
    const buf = Buffer.alloc(CHUNK);
    let stopped = false;
    while (pos < limit && !stopped) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, limit - pos), pos);
      if (bytesRead === 0) break;
      const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let from = 0;
      for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
        const r = onLine(data.subarray(from, nl), carryAt + from);
        from = nl + 1;
        if (r === 'stop') { stopped = true; break; }
      }
      carryAt += from;
      carry = Buffer.from(data.subarray(from));
      pos += bytesRead;
    }
    return { end: carryAt, partial: stopped ? Buffer.alloc(0) : carry };
  } finally {
    await fh.close();
  }
}
