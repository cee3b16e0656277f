import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Makes sure a directory the port keeps its files in (the audit log, its
 * head anchor, lock and signing key, the default flag, grant and approval
 * stores) is the service's own before anything in it is opened
 * (src/server/README.md, "Files"): created 0700 when missing; otherwise,
 * judged with lstat, a directory (or a symlink of the service's own user to
 * one) owned by the user the service runs as and writable by nobody else,
 * in a parent that others cannot rename it out of (not writable by them, or
 * sticky like /tmp). Anyone who can write there could put a link or a FIFO
 * where the port will write, or swap the files it trusts. Throws an Error
 * saying what is wrong; never changes an existing directory's mode.
 */
export async function ensurePrivateDataDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  let st = await fs.lstat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    return undefined;
  });
  if (!st) {
    await fs.mkdir(abs, { recursive: true, mode: 0o700 });
    st = await fs.lstat(abs);
  }
  const me = process.getuid?.();
  let real = abs;
  if (st.isSymbolicLink()) {
    if (me !== undefined && st.uid !== me) throw new Error(`${abs} is a symbolic link owned by uid ${st.uid}, not by the service's user (uid ${me})`);
    real = await fs.realpath(abs);
    st = await fs.lstat(real);
  }
  if (!st.isDirectory()) throw new Error(`${abs} is not a directory`);
  if (me !== undefined && st.uid !== me) throw new Error(`${abs} is owned by uid ${st.uid}, not by the service's user (uid ${me}); give the service a directory of its own (0700)`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${abs} is writable by others (mode ${(st.mode & 0o777).toString(8)}); make it 0700 (or use a directory of the service's own inside it)`);
  const parent = path.dirname(real);
  if (parent !== real) {
    const p = await fs.stat(parent);
    if ((p.mode & 0o002) !== 0 && (p.mode & 0o1000) === 0) throw new Error(`${abs} is in ${parent}, which anyone can write to (mode ${(p.mode & 0o777).toString(8)}, not sticky): the directory could be swapped`);
  }
}
