/**
 * The parsed config is cached by content: a command that reads an unchanged
 * config does not load the YAML parser at all (a sixth of a command sent
 * through a held connection), and an edited config is never served from
 * the cache. Each read runs in its own node process, as each opsctl run does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build.js';

ensureBuilt();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-config-cache-'));
const file = path.join(dir, 'config.yaml');
// Where the Factory puts it: the checked private cache dir (README, "Local files").
const cache = path.join(dir, 'cache', 'opsctl', '.config.parsed.json');

/** readConfig in a fresh process: the config it read and whether the yaml package was loaded. */
function read(): { config: unknown; yamlLoaded: boolean; error?: string } {
  const src = `
    import { createRequire } from 'node:module';
    const { readConfig } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/cli/config/config-file.js'))});
    const { privateCacheDir } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/cli/config/private-dir.js'))});
    const cacheFile = () => privateCacheDir({ XDG_CACHE_HOME: ${JSON.stringify(path.join(dir, 'cache'))}, HOME: ${JSON.stringify(dir)} }) + '/.config.parsed.json';
    let config, error;
    try { config = await readConfig(${JSON.stringify(file)}, cacheFile); } catch (e) { error = e.message; }
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/node_modules/yaml/'));
    process.stdout.write(JSON.stringify({ config, yamlLoaded: loaded, error }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('an unchanged config is read without the YAML parser; an edited one is parsed again', () => {
  fs.writeFileSync(file, 'current-context: a\ncontexts:\n  a:\n    host: [h1]\n    port: 9901\n');
  const first = read();
  assert.equal(first.yamlLoaded, true, 'the first read parses');
  assert.deepEqual(first.config, { contexts: { a: { host: ['h1'], port: 9901 } }, 'current-context': 'a' });
  assert.equal(fs.statSync(cache).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(cache)).mode & 0o777, 0o700);

  const second = read();
  assert.equal(second.yamlLoaded, false, 'the same text comes from the cache');
  assert.deepEqual(second.config, first.config);

  // Same size, same second: only the content tells them apart.
  fs.writeFileSync(file, 'current-context: a\ncontexts:\n  a:\n    host: [h2]\n    port: 9902\n');
  const third = read();
  assert.equal(third.yamlLoaded, true, 'an edit misses the cache');
  assert.deepEqual(third.config, { contexts: { a: { host: ['h2'], port: 9902 } }, 'current-context': 'a' });

  // The cache is only a cache: a bad one is ignored, a broken config still refused.
  fs.writeFileSync(cache, '{not json');
  assert.deepEqual(read().config, third.config);
  fs.writeFileSync(file, 'contexts: [unclosed\n');
  assert.match(read().error ?? '', /not valid YAML/);
  fs.writeFileSync(file, 'contexts:\n  a:\n    port: 70000\n');
  assert.match(read().error ?? '', /port must be 1-65535/);
  assert.match(read().error ?? '', /port must be 1-65535/, 'checked again when read from the cache');
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
