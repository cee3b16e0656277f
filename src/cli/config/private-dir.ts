/**
 * opsctl's own directories (runtime, state, cache, config) belong to the
 * operator alone (README, "Local files"). Each is created 0700 and checked
 * with lstat — a real directory (or the operator's own symlink to one),
 * owned by the operator, writable by nobody else — before anything in it
 * is opened. A directory that fails is not used: the next candidate is, or,
 * when none is left, UnsafeDirError (exit 5). An own directory that others
 * may only read is tightened to 0700.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnsafeDirError } from '../errors/unsafe-dir-error.js';

type Env = Record<string, string | undefined>;

const myUid = (): number | undefined => process.getuid?.();

/** Why `st` (of `dir`) is not a directory of the operator's that only they can write to, or undefined. */
function judge(dir: string, st: fs.Stats): string | undefined {
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const me = myUid();
  if (me !== undefined && st.uid !== me) return `${dir} is owned by uid ${st.uid}, not by you (uid ${me})`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * The directory to use for `dir`: created 0700 when missing, judged with
 * lstat. Returns the path to open files under (the target of an own
 * symlink), or why it must not be used.
 */
export function usePrivateDir(dir: string, opts: { tighten?: boolean; create?: boolean } = {}): { dir: string } | { why: string } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { why: `${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    if (opts.create === false) return { dir };
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = fs.lstatSync(dir);
    } catch (e2) {
      return { why: `${dir} cannot be created: ${(e2 as NodeJS.ErrnoException).code ?? (e2 as Error).message}` };
    }
  }
  let real = dir;
  if (st.isSymbolicLink()) {
    // The operator's own link (a dotfiles checkout) is followed once, to a
    // directory that must pass on its own; anyone else's is not used.
    const me = myUid();
    if (me !== undefined && st.uid !== me) return { why: `${dir} is a symbolic link owned by uid ${st.uid}, not by you` };
    try {
      real = fs.realpathSync(dir);
      st = fs.lstatSync(real);
    } catch (e) {
      return { why: `${dir} is a symbolic link that leads nowhere (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
  }
  const why = judge(dir, st);
  if (why) return { why };
  // Nor in a parent where others could rename it away and put their own in its place.
  const parent = path.dirname(real);
  try {
    const p = fs.statSync(parent);
    if (parent !== real && (p.mode & 0o002) !== 0 && (p.mode & 0o1000) === 0) return { why: `${dir} is in ${parent}, which anyone can write to (not sticky)` };
  } catch {
    // the parent was there a moment ago; the next open will tell
  }
  if ((st.mode & 0o077) !== 0 && opts.tighten !== false) {
    try {
      fs.chmodSync(real, 0o700);
    } catch {
      // readable by others, but ours and not writable by them: usable
    }
  }
  return { dir: real };
}

/** The first candidate that passes, or UnsafeDirError naming what was wrong with each. */
export function firstPrivateDir(candidates: readonly string[], what: string): string {
  const whys: string[] = [];
  for (const c of [...new Set(candidates)]) {
    const r = usePrivateDir(c);
    if ('dir' in r) return r.dir;
    whys.push(r.why);
  }
  throw new UnsafeDirError(
    `no safe directory for opsctl's ${what}: ${whys.join('; ')}`,
    'opsctl writes only into directories that are yours and that nobody else can write to (0700); remove or fix the one named, or point XDG_RUNTIME_DIR / XDG_STATE_HOME / XDG_CACHE_HOME / XDG_CONFIG_HOME at one of yours',
  );
}

const home = (env: Env) => env.HOME || os.homedir();
const xdgBase = (env: Env, name: string, fallback: string) => {
  const v = env[name];
  return v && path.isAbsolute(v) ? v : path.join(home(env), fallback);
};

/** `$XDG_STATE_HOME/opsctl`, else `~/.local/state/opsctl` (checked, created 0700). */
export function privateStateDir(env: Env): string {
  return firstPrivateDir([path.join(xdgBase(env, 'XDG_STATE_HOME', '.local/state'), 'opsctl'), path.join(home(env), '.local', 'state', 'opsctl')], 'state');
}

/** `$XDG_CACHE_HOME/opsctl`, else `~/.cache/opsctl` (checked, created 0700). */
export function privateCacheDir(env: Env): string {
  return firstPrivateDir([path.join(xdgBase(env, 'XDG_CACHE_HOME', '.cache'), 'opsctl'), path.join(home(env), '.cache', 'opsctl')], 'cache');
}

/**
 * Where tunnel sockets and their holders' notes live: `$XDG_RUNTIME_DIR/opsctl`
 * (the per-user runtime dir of the login session), else `run/` in the state
 * dir. Never a predictable path in the shared temp dir, which any local user
 * can create first.
 */
export function privateRuntimeDir(env: Env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  const candidates = xdg && path.isAbsolute(xdg) ? [path.join(xdg, 'opsctl')] : [];
  let noState: string | undefined;
  try {
    candidates.push(path.join(privateStateDir(env), 'run'));
  } catch (e) {
    noState = (e as Error).message;
  }
  try {
    return firstPrivateDir(candidates, 'runtime files (tunnel sockets)');
  } catch (e) {
    if (!noState) throw e;
    const u = e as UnsafeDirError;
    const tried = candidates.length ? `${u.message.replace(/^no safe directory for opsctl's runtime files \(tunnel sockets\): /, '')}; ` : 'XDG_RUNTIME_DIR is not set; ';
    throw new UnsafeDirError(`no safe directory for opsctl's runtime files (tunnel sockets): ${tried}${noState}`, u.hint);
  }
}

/**
 * The text of the config file, read only from a directory that passes the
 * same check (a config another user can write would choose the operator's
 * hosts and keys for them); the operator's own links inside it are
 * followed, a FIFO never waited on. Undefined when there is no config file;
 * UnsafeDirError when its directory must not be trusted.
 */
export function readConfigText(file: string): string | undefined {
  const r = usePrivateDir(path.dirname(file), { tighten: false, create: false });
  if ('why' in r) throw new UnsafeDirError(`not reading opsctl's config ${file}: ${r.why}`, 'opsctl reads its config only from a directory that is yours and that nobody else can write to');
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new UnsafeDirError(`not reading opsctl's config ${file}: it is not a regular file`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The directory of a file opsctl writes (config.yaml, a known_hosts file):
 * created 0700 when missing, refused (UnsafeDirError) when it is not the
 * operator's or others can write to it. `tighten` only for opsctl's own
 * directory, never for one the operator named (a project directory).
 */
export function privateDirOf(file: string, what: string, opts: { tighten?: boolean } = {}): string {
  const r = usePrivateDir(path.dirname(file), opts);
  if ('dir' in r) return r.dir;
  throw new UnsafeDirError(`not writing opsctl's ${what} to ${file}: ${r.why}`, 'opsctl writes only into directories that are yours and that nobody else can write to');
}
