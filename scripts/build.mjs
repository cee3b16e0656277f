// Builds dist/: tsc for the library, the server and the examples (with .d.ts),
// then one esbuild bundle for the CLI so `opsctl --help` and completion start
// from a single pre-linked file instead of resolving dozens of modules.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const log = (m) => { if (!quiet) process.stderr.write(m + '\n'); };

// --if-stale: skip when nothing the build reads changed since the last build
// (npm run demo / demo-service start in a second instead of eight).
const stamp = path.join(root, 'dist/.build-stamp');
const newest = (p) => {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newest(path.join(p, e)));
  return m;
};
if (process.argv.includes('--if-stale') && fs.existsSync(stamp) && fs.existsSync(path.join(root, 'dist/cli/main.js'))) {
  const inputs = ['src', 'examples', 'tsconfig.json', 'package.json', 'scripts/build.mjs'].map((p) => path.join(root, p)).filter((p) => fs.existsSync(p));
  if (Math.max(...inputs.map(newest)) <= fs.statSync(stamp).mtimeMs) process.exit(0);
}

// --clean (prepack: what npm pack and npm publish ship): start from an empty
// dist/, so no file of an older build (a module since renamed or removed) is
// packed. The incremental build info goes too, or tsc would emit nothing.
if (process.argv.includes('--clean')) fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) {
  process.stderr.write('build: TypeScript reported errors (see above)\n');
  process.exit(tsc.status ?? 1);
}
log('build: tsc ok');

if (fs.existsSync(path.join(root, 'src/cli/main.ts'))) {
  const esbuild = await import('esbuild');
  // Chunk names are content hashes, so each build goes to a fresh directory
  // that replaces dist/cli in one rename: a CLI started meanwhile (tests
  // running in parallel) never sees a half-written bundle.
  const outdir = path.join(root, `dist/cli.next-${process.pid}`);
  fs.rmSync(outdir, { recursive: true, force: true });
  // Heavy or native packages stay external: they are reached only through
  // lazy import() on the commands that need them, never on --help/completion.
  // yaml too: split into its own chunk, a bundled CommonJS package keeps only a
  // default export, so `(await import('yaml')).parse` would be undefined.
  // ssh2 is bundled (a lazy chunk of its own, loaded only when a connection is
  // made): as a dependency its install script would compile an optional
  // crypto binding, and pull cpu-features to compile, on every machine that
  // installs opsctl. Its optional native parts (`*.node`, cpu-features) stay
  // external; ssh2 loads them in a try/catch and works without them.
  const external = ['cpu-features', '*.node', '@napi-rs/keyring', 'better-sqlite3', 'got', '@inquirer/prompts', 'prom-client', 'umzug', 'ajv', 'yaml'];
  // Some bundled CommonJS dependencies call require() or read __dirname
  // (ssh2's poly1305 loader); give every chunk of an ESM bundle both.
  const esmBanner = {
    js: [
      "import { createRequire as __opsctlCreateRequire } from 'node:module';",
      "import { fileURLToPath as __opsctlFileURLToPath } from 'node:url';",
      'const require = __opsctlCreateRequire(import.meta.url);',
      'const __filename = __opsctlFileURLToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  };
  await esbuild.build({
    entryPoints: { main: path.join(root, 'src/cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    sourcemap: false,
    // Errors are classified by name (commander's CommanderError sets its name
    // from constructor.name): esbuild must not rename classes.
    keepNames: true,
    logLevel: 'warning',
    banner: esmBanner,
  });
  // The start-up path (docs/architecture.md, "Start-up"): --help and TAB
  // answered from data about the built-in tree, taken from that tree now,
  // by a small CommonJS bundle that bin/opsctl.js requires first. Both carry
  // this build's id, so a start.cjs never reads another build's data.
  const buildId = randomBytes(8).toString('hex');
  const snapDir = path.join(root, `dist/cli.snap-${process.pid}`);
  await esbuild.build({
    entryPoints: [path.join(root, 'src/cli/start/snapshot.ts')],
    outfile: path.join(snapDir, 'snapshot.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    keepNames: true,
    logLevel: 'warning',
    banner: esmBanner,
  });
  try {
    const { startData, asciiJson } = await import(pathToFileURL(path.join(snapDir, 'snapshot.mjs')).href);
    const { help, ...data } = startData(buildId);
    fs.writeFileSync(path.join(outdir, 'start-data.json'), asciiJson(data));
    fs.writeFileSync(path.join(outdir, 'start-help.json'), asciiJson(help));
  } finally {
    fs.rmSync(snapDir, { recursive: true, force: true });
  }
  // `import fs from 'node:fs'` in a CommonJS bundle makes esbuild copy every
  // property of the module into an ES-module shape (__toESM), fs's hundred
  // included, at each start: a profile of --help showed it. On the start-up
  // path each builtin becomes the plain require() it is: a default import is
  // the module; a named one (`import { randomBytes } from 'node:crypto'`)
  // is a function that requires the module when first called, since
  // requiring node:crypto at start loads crypto and the whole stream stack
  // (40 internal modules) for a function --help and TAB never call. One
  // small module per importer and builtin.
  const importsOf = (file, spec) => {
    const text = fs.readFileSync(file, 'utf8');
    const from = spec.replace(/[/]/g, '\\/');
    const names = new Set();
    let whole = false;
    for (const m of text.matchAll(new RegExp(`import\\s+(?!type\\b)([\\w$]+\\s*,\\s*)?(?:\\{([^}]*)\\}|\\*\\s*as\\s+[\\w$]+|([\\w$]+))\\s*from\\s*['"]${from}['"]`, 'g'))) {
      if (m[1] || m[3] || !m[2]) whole = true;
      for (const part of (m[2] ?? '').split(',')) {
        const name = part.trim().replace(/^type\s+.*$/, '').split(/\s+as\s+/)[0];
        if (name) names.add(name);
      }
    }
    return { whole, names: [...names].sort() };
  };
  const plainBuiltins = {
    name: 'plain-builtins',
    setup(b) {
      b.onResolve({ filter: /^node:[a-z_/]+$/ }, (a) => {
        if (a.namespace === 'plain-builtin') return { path: a.path, external: true };
        const { whole, names } = a.importer ? importsOf(a.importer, a.path) : { whole: true, names: [] };
        return { path: `${a.path}?${whole ? 'default' : ''}${names.length ? `,${names.join(',')}` : ''}`, namespace: 'plain-builtin', pluginData: { spec: a.path, whole, names } };
      });
      b.onLoad({ filter: /.*/, namespace: 'plain-builtin' }, (a) => {
        const { spec, whole, names } = a.pluginData;
        const real = createRequire(import.meta.url)(spec);
        const lines = [`let m; const get = () => (m ??= require(${JSON.stringify(spec)}));`];
        if (whole) lines.push('export default get();');
        for (const n of names) {
          // A function (not a class) is called through; anything else is read once, at start.
          const lazy = typeof real[n] === 'function' && !/^class\b/.test(Function.prototype.toString.call(real[n])) && !/^[A-Z]/.test(n);
          lines.push(lazy ? `export function ${n}(...args) { return get().${n}(...args); }` : `export const ${n} = get().${n};`);
        }
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
  await esbuild.build({
    plugins: [plainBuiltins],
    entryPoints: [path.join(root, 'src/cli/start/start.ts')],
    outfile: path.join(outdir, 'start.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external,
    keepNames: true,
    logLevel: 'warning',
    define: { __OPSCTL_BUILD__: JSON.stringify(buildId) },
    // bin/load-start.js names its V8 code cache after this line.
    banner: { js: `/* opsctl build ${buildId} */` },
    // Less to read and parse at every start; names kept (errors are classified by name).
    minify: true,
  });
  const final = path.join(root, 'dist/cli');
  const old = path.join(root, `dist/cli.old-${process.pid}`);
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(outdir, final);
  fs.rmSync(old, { recursive: true, force: true });
  log('build: cli bundle ok');
}

fs.writeFileSync(stamp, new Date().toISOString() + '\n');
