/**
 * What the demo tests share: a fresh HOME per run (so a test proves the demo
 * writes nothing there), the processes still using a directory, and the temp
 * dir the demo names in its output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** An environment with an empty HOME, removed after the test. */
export function freshHome(t: { after(fn: () => void): void }): Record<string, string> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1' };
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Processes whose command line mentions the path (the demo service runs with --data-dir DIR/service). */
export function processesUsing(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes(dir) && !l.includes('ps -eo'));
}

/** The temp dir the demo says it works in. */
export function demoDir(output: string): string {
  const m = /Everything below lives in (\S+) and is removed at the end\./.exec(output);
  assert.ok(m, `the demo names its temp dir:\n${output}`);
  return m[1]!;
}
