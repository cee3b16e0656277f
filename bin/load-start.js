// Loads dist/cli/start.cjs (the start-up path, docs/architecture.md
// "Start-up") with a V8 code cache: parsing and compiling that file was most
// of what `opsctl --help` and TAB cost beyond a bare node start (Node 20 has
// no module.enableCompileCache). The cache is bytecode the process would
// run, so it is only read from a directory and a file that are the user's
// own and nobody else can write (0700 and 0600, owner checked, no symlinks),
// named after the exact build and Node, and written once, after a run that
// used the start-up path. Any doubt: plain require(), as without a cache.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const MAX_CACHE_BYTES = 4 * 1024 * 1024;

/** $XDG_CACHE_HOME/opsctl/v8 (as src/cli/config/paths.ts resolves the cache dir). */
function cacheDirOf(env) {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : env.HOME ? path.join(env.HOME, '.cache') : undefined;
  return base ? path.join(base, 'opsctl', 'v8') : undefined;
}

/** True when `st` belongs to this user and no one else may write it. */
function ours(st) {
  return st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

function readCache(dir, name) {
  try {
    const d = fs.lstatSync(dir);
    if (!d.isDirectory() || !ours(d)) return { refused: true };
  } catch {
    return {};
  }
  let fd;
  try {
    fd = fs.openSync(path.join(dir, name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return {};
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ours(st) || st.size > MAX_CACHE_BYTES) return { refused: true };
    const buf = Buffer.alloc(st.size);
    for (let off = 0; off < st.size; ) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return { data: buf };
  } catch {
    return {};
  } finally {
    fs.closeSync(fd);
  }
}

function writeCache(dir, name, data, build) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const d = fs.lstatSync(dir);
    if (!d.isDirectory() || !ours(d)) return;
    const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, path.join(dir, name));
    // Caches of other builds are of no further use.
    for (const f of fs.readdirSync(dir)) if (/^start-.*\.bin$/.test(f) && !f.startsWith(`start-${build}-`)) fs.rmSync(path.join(dir, f), { force: true });
  } catch {
    /* a cache is a convenience */
  }
}

/**
 * The exports of start.cjs, and `state`: 'hit' (the cache was used), 'miss'
 * (none yet, or V8 refused it: one is written by remember()), 'refused' (a
 * cache that is not safely ours: neither read nor written) or 'off' (no
 * cache directory, or a platform without user ids). `kind` ('help' or
 * 'tab') keeps one cache per kind of run: a cache holds the functions the
 * run that wrote it compiled, and help and TAB run different ones.
 */
function loadStart(file, kind, env = process.env) {
  const dir = cacheDirOf(env);
  if (!dir || typeof process.getuid !== 'function') return { exports: require(file), state: 'off', async remember() {} };
  const source = fs.readFileSync(file, 'utf8');
  // The build id esbuild wrote into the first line names the exact source: V8's own check is by length only.
  const build = /^\/\* opsctl build ([0-9a-f]{16}) \*\//.exec(source);
  if (!build) return { exports: require(file), state: 'off', async remember() {} };
  const name = `start-${build[1]}-${process.version}-${process.arch}-${kind === 'tab' ? 'tab' : 'help'}.bin`;
  const cached = readCache(dir, name);
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cached.data ? { cachedData: cached.data } : {}) });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  const state = cached.refused ? 'refused' : cached.data && !script.cachedDataRejected ? 'hit' : 'miss';
  return {
    exports: mod.exports,
    state,
    // After a run: the bytecode of everything it compiled (and of the code
    // start.cjs's warmUp() exercises, which this run may not have), for the next start.
    async remember() {
      if (state !== 'miss') return;
      try {
        await mod.exports.warmUp?.();
      } catch {
        /* the cache then holds less */
      }
      writeCache(dir, name, script.createCachedData(), build[1]);
    },
  };
}

module.exports = { loadStart, cacheDirOf };
