/**
 * Opening files in opsctl's own directories without trusting what is
 * there (README, "Local files"): never through a symlink (O_NOFOLLOW),
 * never blocking on a FIFO (O_NONBLOCK), only regular files of the
 * operator's; new files are created exclusively (O_EXCL) and replaced by
 * rename, so no existing file is ever written through.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** Why an open file is not one to read or append to, or undefined. */
function foreign(fd: number, file: string): string | undefined {
  const st = fs.fstatSync(fd);
  if (!st.isFile()) return `${file} is not a regular file`;
  const me = process.getuid?.();
  if (me !== undefined && st.uid !== me) return `${file} is owned by uid ${st.uid}, not by you`;
  return undefined;
}

/** The text of an own regular file, or undefined when it is missing or is anything else. */
export function readPrivateFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (foreign(fd, file)) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` with `data` (0600): written to a temp file beside it that
 * is created exclusively and never through a link, then renamed over it.
 */
export function writePrivateFile(file: string, data: string, opts: { sync?: boolean } = {}): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      fs.writeFileSync(fd, data);
      if (opts.sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Opens an own regular file to append to (created 0600 when missing), for
 * reading too with `read`. Throws when the path is a link, a FIFO, a
 * directory or someone else's file.
 */
export function openPrivateAppend(file: string, opts: { read?: boolean } = {}): number {
  const fd = fs.openSync(file, (opts.read ? O_RDWR : O_WRONLY) | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  const why = foreign(fd, file);
  if (why) {
    fs.closeSync(fd);
    throw new Error(`refusing to write to ${why}`);
  }
  return fd;
}
