import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomId } from './random-id.js';

/**
 * Opening the port's own files without trusting what is at their path
 * (src/server/README.md, "Files"): never through a symbolic link
 * (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK), only a regular file;
 * new files created exclusively 0600 (O_EXCL), stores replaced by a temp
 * file created the same way and renamed over them. `what` names the file
 * in every error ("approval store", "notification signing key"), so a
 * refused start says which file and why. The directory itself is checked
 * by ensurePrivateDataDir (src/server/private-data-dir.ts).
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const READ = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** The error for a path that is not the file it should be; ENOENT and other errors pass through unchanged. */
function refusal(e: unknown, file: string, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  // Linux answers ELOOP for O_NOFOLLOW on a link (some systems EMLINK).
  if (code === 'ELOOP' || code === 'EMLINK') return new Error(`${what} ${file} is a symbolic link; refusing to follow it`, { cause: e });
  // A FIFO opened for writing with nobody reading it (O_NONBLOCK), or a directory.
  if (code === 'ENXIO' || code === 'EISDIR') return new Error(`${what} ${file} is not a regular file`, { cause: e });
  if (code === 'EEXIST') return new Error(`${what} ${file} exists already (a link or a file where a new one is made); refusing to write through it`, { cause: e });
  return e;
}

function notRegular(file: string, what: string): Error {
  return new Error(`${what} ${file} is not a regular file`);
}

/** Mode bits of a file others may read or write (for a warning; the caller decides). */
export function openToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/**
 * The text of a file, or undefined when there is none. Throws (naming the
 * file) when the path is a link, a FIFO, a directory or anything else but a
 * regular file. `onStat` sees the opened file's stat (a mode check).
 */
export async function readPrivateFile(file: string, what: string, onStat?: (st: fs.Stats) => void): Promise<string | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, READ);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refusal(e, file, what);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(file, what);
    onStat?.(st);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * readPrivateFile for the start-time reads that are synchronous (secrets,
 * keys). `onStat` also gets the open descriptor, so a mode is tightened on
 * the file that was opened (fchmod), not on whatever the path names by then.
 */
export function readPrivateFileSync(file: string, what: string, onStat?: (st: fs.Stats, fd: number) => void): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, READ);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refusal(e, file, what);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, what);
    onStat?.(st, fd);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates a new file 0600 holding `text`; refuses (naming it) when anything, a link included, is at the path already. */
export function createPrivateFileSync(file: string, text: string, what: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, CREATE, 0o600);
  } catch (e) {
    throw refusal(e, file, what);
  }
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
}

/**
 * Replaces `file` with `text`, atomically: a temp file beside it (a new
 * random name, created exclusively 0600, never through a link), fsync,
 * rename over the file, fsync the directory. A crash leaves the old or the
 * new content, never half of it, and a link at the file's path is replaced,
 * never written through.
 */
export async function replacePrivateFile(file: string, text: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${randomId(8)}.tmp`);
  const fh = await fsp.open(tmp, CREATE, 0o600);
  try {
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Opens a file to append to (created 0600 when missing). Throws (naming it)
 * when the path is a link, a FIFO or anything but a regular file.
 */
export async function openPrivateAppend(file: string, what: string): Promise<fsp.FileHandle> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (e) {
    throw refusal(e, file, what);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw notRegular(file, what);
  }
  return fh;
}
