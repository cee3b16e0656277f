/**
 * The package as a service team gets it, shared by the package tests: `npm
 * pack` of the built tree (as prepack would have built it), then `npm
 * install` of the tarball into an empty project with npm's install scripts
 * on (what a service's CI does). Each test file packs its own copy so that
 * the files can run side by side.
 */
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from './build.js';

export const REPOSITORY = 'https://github.com/opsctl/opsctl';
export const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  scripts: Record<string, string>;
  repository?: { url?: string };
};

export interface Packed {
  dir: string;
  project: string;
  installed: string;
  tarball: string;
  packed: { size: number; unpackedSize: number; entryCount: number; files: Array<{ path: string }> };
  install: { ms: number; output: string };
}

/** Runs a command to its end (async, so the test runner's timers keep running). */
export function sh(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** The version the repository itself uses of a package (so the cache has it: --prefer-offline). */
export const repoVersion = (name: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** Packs the repository and installs the tarball into a fresh project under a temp dir. */
export async function packAndInstall(): Promise<Packed> {
  ensureBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-package-'));
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const meta = (JSON.parse(pack.stdout) as Array<Packed['packed'] & { filename: string }>)[0]!;
  const tarball = path.join(dir, meta.filename);
  const project = path.join(dir, 'service');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'orders', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const started = Date.now();
  // Install scripts on (no --ignore-scripts): what a service's CI does.
  const r = await sh(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
  const install = { ms: Date.now() - started, output: r.out };
  assert.equal(r.code, 0, r.out);
  return { dir, project, installed: path.join(project, 'node_modules', pkg.name), tarball, packed: meta, install };
}
