/**
 * Every snippet a newcomer copies from the repository's Markdown runs as
 * written (README.md, src/server/README.md, docs/, the demo service's
 * README; markers in test/helpers/doc-snippets.ts): TypeScript blocks are
 * compiled strictly against the built package, as a
 * project that depends on `opsctl` would import it; the README's server
 * program then runs behind a real sshd and the real CLI uses it; shell
 * blocks pass `bash -n`, YAML blocks parse; the README's two starting
 * points name scripts that exist. test/package/ does the same from the
 * packed tarball.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { codeBlocks, docFiles, STRICT_TSCONFIG, tsPrograms, type TsProgram } from '../helpers/doc-snippets.js';
import { exerciseReadmeServer } from '../helpers/readme-server.js';
import { requireSshd } from '../helpers/sshd.js';

let dir: string;
let programs: TsProgram[];
const FILES = docFiles(ROOT);
const outFile = (i: number) => path.join(dir, 'out', `snippet-${i}.js`);

/**
 * A project that depends on opsctl: node_modules/opsctl is the repository
 * (its package.json exports the built dist/), the other packages are the
 * repository's own (umzug, @openfeature/server-sdk, @types/node).
 */
function consumerProject(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-snippets-'));
  fs.mkdirSync(path.join(d, 'node_modules'));
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry === '.bin' || entry.startsWith('.')) continue;
    fs.symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(d, 'node_modules', entry));
  }
  fs.symlinkSync(ROOT, path.join(d, 'node_modules', 'opsctl'));
  fs.writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name: 'orders', private: true, type: 'module' }));
  return d;
}

before(() => {
  ensureBuilt();
  dir = consumerProject();
  programs = tsPrograms(ROOT, FILES).programs;
  fs.mkdirSync(path.join(dir, 'src'));
  programs.forEach((p, i) => fs.writeFileSync(path.join(dir, 'src', `snippet-${i}.ts`), `// ${p.name}\n${p.source}`));
  // skipLibCheck here only to keep this test quick: the package's declarations
  // are checked without it, from the packed tarball, in test/package/.
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...STRICT_TSCONFIG.compilerOptions, skipLibCheck: true }, include: ['src'] }));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('every TypeScript snippet compiles strictly against the package; outlines only outside README.md', () => {
  const { outlines } = tsPrograms(ROOT, FILES);
  assert.deepEqual(outlines.filter((b) => b.file === 'README.md').map((b) => b.line), [], 'README.md has no outlines: every snippet there runs');
  assert.ok(programs.some((p) => p.name === 'README.md:' + p.block.line && p.standalone), 'the README has a complete program');
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
  // Name the snippet an error is in: src/snippet-N.ts → FILE:LINE.
  const named = tsc.stdout.replace(/src\/snippet-(\d+)\.ts/g, (_m, n: string) => programs[Number(n)]!.name);
  assert.equal(tsc.status, 0, named);
  for (let i = 0; i < programs.length; i++) assert.ok(fs.existsSync(outFile(i)), programs[i]!.name);
});

test('the README\'s server program runs as written: the real CLI through a real sshd migrates, runs the task, sets a flag', async (t) => {
  if (requireSshd(t)) return;
  const i = programs.findIndex((p) => p.block.file === 'README.md' && p.standalone);
  assert.ok(fs.existsSync(outFile(i)), 'compiled by the test above');
  await exerciseReadmeServer({ program: outFile(i), cwd: dir, opsctl: [process.execPath, path.join(ROOT, 'bin/opsctl.js')], dir: fs.mkdtempSync(path.join(dir, 'run-')) });
});

test('shell snippets parse (bash -n), YAML snippets parse; the two starting points name scripts that exist', () => {
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const file of FILES) {
    for (const b of codeBlocks(ROOT, file)) {
      if (b.lang === 'sh' || b.lang === 'bash' || b.lang === 'shell') {
        const r = spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' });
        assert.equal(r.status, 0, `${file}:${b.line}: ${r.stderr}`);
      }
      if (b.lang === 'yaml' || b.lang === 'yml') assert.doesNotThrow(() => parseYaml(b.code), `${file}:${b.line}`);
    }
  }
  const first = codeBlocks(ROOT, 'README.md')[0]!;
  const runs = [...first.code.matchAll(/npm install && npm (?:run )?(\w+)/g)].map((m) => m[1]!);
  assert.deepEqual(runs, ['demo', 'test'], first.code);
  for (const s of runs) assert.ok(scripts[s], `npm ${s}: a script of package.json (test/demo runs npm run demo)`);
});
