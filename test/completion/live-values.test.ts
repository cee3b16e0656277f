/**
 * The newcomer's path end to end: `context add` + `context use`, commands
 * with no connection flags through a real bastion and service host, then TAB
 * offers the service's own flag and task names from the cache even with the
 * service stopped (completion never connects).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, ROOT } from '../helpers/stack.js';

test('after one command against a context, TAB offers the service\'s flag and task names with the service down', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    const add = await stack.cli(['context', 'add', 'lab', ...stack.contextFlags, '--no-use']);
    assert.equal(add.code, 0, add.stderr);
    const use = await stack.cli(['context', 'use', 'lab']);
    assert.equal(use.code, 0, use.stderr);

    const health = await stack.cli(['health', '-o', 'json']);
    assert.equal(health.code, 0, health.stderr);
    assert.equal(JSON.parse(health.stdout).service, 'demo-orders');
    const flags = await stack.cli(['flags', 'list', '-o', 'json']);
    assert.equal(flags.code, 0, flags.stderr);
    const tasks = await stack.cli(['tasks', 'list', '-o', 'json']);
    assert.equal(tasks.code, 0, tasks.stderr);

    await stack.service.stop();

    const bin = path.join(stack.dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'opsctl'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/opsctl.js')}" "$@"\n`, { mode: 0o755 });
    const env = { ...stack.env, PATH: `${bin}:${stack.env.PATH}` };
    const bash = (...words: string[]) => {
      const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _opsctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', path.join(ROOT, 'completions/opsctl.bash'), 'opsctl', ...words], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    // Exactly what the service reported, not a list baked into the test.
    const flagNames = (JSON.parse(flags.stdout) as { flags: Array<{ name: string }> }).flags.map((x) => x.name).sort();
    const taskNames = (JSON.parse(tasks.stdout) as { tasks: Array<{ name: string }> }).tasks.map((x) => x.name).sort();
    assert.ok(flagNames.includes('maintenance_mode') && taskNames.includes('recompute-totals'));
    assert.deepEqual(bash('flags', 'get', '').sort(), flagNames);
    assert.deepEqual(bash('flags', 'enable', 'mai'), ['maintenance_mode']);
    assert.deepEqual(bash('tasks', 'run', '').sort(), taskNames);
    // What a flag accepts, from the same `flags list`: a boolean's true/false.
    assert.deepEqual(bash('flags', 'set', 'maintenance_mode', '').sort(), ['false', 'true']);
    assert.deepEqual(bash('flags', 'set', 'max_page_size', ''), [], 'an integer has bounds, not a list of values');
    assert.deepEqual(bash('context', 'use', ''), ['lab']);

    // And a real command now fails as it should: the service is down.
    const down = await stack.cli(['health']);
    assert.equal(down.code, 5, down.stderr);
  } finally {
    await stack.stop();
  }
});
