/**
 * `opsctl init` from an empty HOME, by flags only, against the real route
 * (OpenSSH bastion and host, the demo service): the allowlist line it prints
 * is what the service admin adds, and then `migrate status` works through
 * the context init saved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from '../helpers/stack.js';
import { TEST_USER } from '../helpers/sshd.js';

test('init --yes from an empty HOME saves a working context and prints the allowlist line', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  try {
    const configFile = path.join(stack.env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
    assert.equal(fs.existsSync(configFile), false);

    // --yes without a needed flag: exit 2 naming it, nothing written.
    const missing = await stack.cli(['init', '--yes', '--host', `${TEST_USER}@127.0.0.1:${stack.host.port}`]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--context-name/);
    assert.equal(fs.existsSync(configFile), false);

    // The service does not know the key yet: the last step (doctor) names that.
    fs.writeFileSync(stack.service.authorizedKeysFile, '');
    const r = await stack.cli(['init', '--yes', '--context-name', 'lab', '--role', 'viewer', '--no-doctor', ...stack.contextFlags]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('role="viewer" ssh-ed25519 '));
    assert.ok(line, r.stdout);
    assert.ok(line.includes(stack.key.publicLine.trim().split(' ')[1]!), 'the line carries this key');
    assert.match(fs.readFileSync(configFile, 'utf8'), /current-context: lab/);

    // The admin adds the printed line; the allowlist reloads on change.
    fs.writeFileSync(stack.service.authorizedKeysFile, `${line}\n`);
    let status = await stack.cli(['migrate', 'status', '-o', 'json']);
    for (let i = 0; i < 20 && status.code !== 0; i++) {
      await new Promise((res) => setTimeout(res, 200));
      status = await stack.cli(['migrate', 'status', '-o', 'json']);
    }
    assert.equal(status.code, 0, status.stderr);
    assert.ok(JSON.parse(status.stdout));

    // Again with doctor (the default): every hop checked, the role as the service sees it.
    const again = await stack.cli(['init', '--yes', '--force', '--context-name', 'lab', '--role', 'viewer', ...stack.contextFlags]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /✓ role\s+viewer/);
    assert.match(again.stderr, /every hop works/);
  } finally {
    await stack.stop();
  }
});
