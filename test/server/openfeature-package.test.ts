/**
 * The provider imported the way a service imports it: a separate node
 * process (plain ESM, no tsx) importing `opsctl/server`,
 * `opsctl/server/openfeature` and `@openfeature/server-sdk` from the built
 * package. It evaluates through the SDK, this test sends a signed flags.set,
 * and the service process sees the change event and the new value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ensureBuilt, ROOT } from '../helpers/build.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { tempDir } from './fixtures/harness.js';

const SERVICE = `
import { createInternalPort } from 'opsctl/server';
import { createOpenFeatureProvider } from 'opsctl/server/openfeature';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
const [dir, allowlist] = process.argv.slice(1);
const port = await createInternalPort({
  service: { name: 'of-probe', version: '1' }, authorizedKeysFile: allowlist, auditLogFile: dir + '/audit.jsonl', log: () => {},
  flags: { definitions: [
    { name: 'new_checkout', type: 'boolean', default: false, description: 'x' },
    { name: 'rollout', type: 'percentage', default: 0, description: 'x' },
  ] },
});
await OpenFeature.setProviderAndWait(createOpenFeatureProvider(port));
const flags = OpenFeature.getClient();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const snapshot = async () => ({
  checkout: await flags.getBooleanDetails('new_checkout', false),
  alice: await flags.getBooleanValue('rollout', false, { targetingKey: 'alice' }),
});
OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, async (e) => say({ event: e.flagsChanged, after: await snapshot() }));
say({ port: port.port, before: await snapshot() });
process.stdin.on('end', async () => { await OpenFeature.close(); await port.close(); });
process.stdin.resume();
`;

test('a service process imports opsctl/server/openfeature from the package and sees a signed flags.set as an event', async () => {
  ensureBuilt();
  const dir = tempDir('opsctl-of-pkg-');
  const key = makeKey(dir, 'olga-operator');
  const allowlist = path.join(dir, 'authorized_keys');
  writeAllowlist(allowlist, [[key, 'operator']]);
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVICE, dir, allowlist], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The async iterator buffers lines: the event line is printed before the
  // HTTP answer of the flags.set that caused it reaches this test.
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<any> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no line from the service process: ${stderr}`)), 15_000); });
    try {
      const r = await Promise.race([lines.next(), timeout]);
      if (r.done) throw new Error(`the service process ended: ${stderr}`);
      return JSON.parse(r.value);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    const first = await next();
    assert.equal(first.before.checkout.value, false);
    assert.equal(first.before.checkout.reason, 'DEFAULT');
    assert.equal(first.before.alice, false);
    const op = new SignedClient({ host: '127.0.0.1', port: first.port }, key);
    const r = await op.call('flags.set', { name: 'new_checkout', value: true });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const ev = await next();
    assert.deepEqual(ev.event, ['new_checkout']);
    assert.equal(ev.after.checkout.value, true);
    assert.equal(ev.after.checkout.reason, 'STATIC');
    assert.equal(ev.after.checkout.flagMetadata.updatedBy, 'olga-operator');
    const r2 = await op.call('flags.set', { name: 'rollout', value: 100 });
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
    const ev2 = await next();
    assert.deepEqual([ev2.event, ev2.after.alice], [['rollout'], true]);
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('opsctl/server alone never loads the OpenFeature SDK (an optional peer of opsctl/server/openfeature only)', () => {
  ensureBuilt();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { createRequire } from 'node:module';
    await import('opsctl/server');
    await import('opsctl/protocol');
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify(Object.keys(require.cache)));`], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const loaded = JSON.parse(r.stdout) as string[];
  assert.ok(!loaded.some((p) => p.includes('@openfeature')), loaded.filter((p) => p.includes('@openfeature')).join(', '));
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.peerDependenciesMeta['@openfeature/server-sdk'].optional, true);
  assert.equal(pkg.dependencies['@openfeature/server-sdk'], undefined);
  // Only the provider's entry imports the SDK.
  const importers: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && /from '@openfeature\//.test(fs.readFileSync(p, 'utf8'))) importers.push(path.relative(ROOT, p));
    }
  };
  walk(path.join(ROOT, 'src'));
  assert.ok(importers.length > 0 && importers.every((p) => p.startsWith('src/server/openfeature/')), importers.join(', '));
});
