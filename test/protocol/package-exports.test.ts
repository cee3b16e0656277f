/**
 * The package's three entry points resolve from the built dist/ the way a
 * consumer imports them, and opsctl/protocol drags in neither ssh2 nor got
 * nor the server's dependencies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, ROOT } from '../helpers/build.js';

function probe(code: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('opsctl, opsctl/server and opsctl/protocol resolve to the built modules', () => {
  ensureBuilt();
  const out = JSON.parse(probe(`
    const root = await import('opsctl');
    const server = await import('opsctl/server');
    const protocol = await import('opsctl/protocol');
    console.log(JSON.stringify({
      root: [typeof root.createInternalPort, typeof root.signRequest],
      server: typeof server.createInternalPort,
      protocol: [typeof protocol.signRequest, typeof protocol.verifyRequest, Array.isArray(protocol.STANDARD_ENDPOINTS)],
    }));`));
  assert.deepEqual(out, { root: ['function', 'function'], server: 'function', protocol: ['function', 'function', true] });
});

test('opsctl/protocol loads neither ssh2, got, prom-client nor ajv', () => {
  ensureBuilt();
  const loaded = JSON.parse(probe(`
    import { createRequire } from 'node:module';
    await import('opsctl/protocol');
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify(Object.keys(require.cache)));`)) as string[];
  for (const heavy of ['/ssh2/', '/got/', '/prom-client/', '/ajv/']) {
    assert.ok(!loaded.some((p) => p.includes(`node_modules${heavy}`)), `${heavy} loaded: ${loaded.join(', ')}`);
  }
});

test('src/protocol imports only node: builtins, structured-headers and itself', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = path.join(ROOT, 'src/protocol');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const specs = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
    assert.ok(file !== 'signature.ts' || specs.length > 0, 'the scan finds imports');
    for (const m of specs) {
      const spec = m[1]!;
      assert.ok(spec.startsWith('node:') || spec.startsWith('./') || spec === 'structured-headers', `${file} imports ${spec}`);
    }
  }
});
