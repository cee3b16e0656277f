/**
 * Reloads of the real opsctl-port bin: SIGHUP and a changed file apply a
 * valid config's endpoints and health checks at once; a config that fails
 * validation, or changes a key that needs a restart, is refused with the
 * reason in the log and the running config keeps serving; SIGTERM closes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startOpsctlPort, tempDir, type RunningPort } from '../helpers/sidecar.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let file: string;
let port: RunningPort;
let viewer: SignedClient;

const config = (endpoints: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => JSON.stringify({
  service: { name: 'reload-test', version: '1' },
  port: 0,
  authorizedKeys: './keys',
  dataDir: './data',
  endpoints,
  ...extra,
}, null, 2);

const echo = (id: string, word: string) => ({ id, summary: `says ${word}`, role: 'viewer', exec: { argv: ['/bin/echo', word] }, method: 'POST' });
const ids = async () => (await viewer.call('catalog')).json.endpoints.map((e: { id: string }) => e.id).filter((id: string) => id.startsWith('app.'));

/** Replaces the file the way an editor does: a temp file renamed over it. */
function replace(text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

before(async () => {
  dir = tempDir();
  file = path.join(dir, 'opsctl-port.yaml');
  const vera = makeKey(dir, 'vera');
  writeAllowlist(path.join(dir, 'keys'), [[vera, 'viewer']]);
  fs.writeFileSync(file, config([echo('app.one', 'one')]));
  port = await startOpsctlPort(file);
  viewer = new SignedClient({ host: '127.0.0.1', port: port.port }, vera);
});
after(async () => {
  await port?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('SIGHUP applies a valid config: endpoints added and removed, health checks replaced', async () => {
  assert.deepEqual(await ids(), ['app.one']);
  fs.writeFileSync(file, config([echo('app.two', 'two'), echo('app.three', 'three')], { health: { sh: { exec: { argv: ['/bin/true'] } } } }));
  const from = port.log().length;
  port.hup();
  await port.waitLog(/reload \(SIGHUP\) applied: 2 endpoint\(s\), added app\.two, app\.three, removed app\.one/, 30_000, from);
  assert.deepEqual(await ids(), ['app.two', 'app.three']);
  assert.equal((await viewer.send('POST', '/v1/app/one', { body: {} })).status, 404);
  assert.equal((await viewer.send('POST', '/v1/app/two', { body: {} })).status, 202);
  assert.equal((await viewer.call('health')).json.checks.sh.ok, true);
});

test('a config that fails validation is refused with the reason in the log; the running one keeps serving', async () => {
  const from = port.log().length;
  replace(config([echo('app.four', 'four'), { id: 'app.broken', summary: 'x', role: 'viewer', exec: { argv: ['/no/such/command'] } }]));
  await port.waitLog(/reload \(the config file changed\) refused: the config has 1 problem\(s\); the running config stays/, 30_000, from);
  await port.waitLog(/error:\s+.*opsctl-port\.yaml:\d+:\d+: error: endpoints\[1\]\.exec\.argv\[0\]: command \/no\/such\/command does not exist/, 5000, from);
  assert.deepEqual(await ids(), ['app.two', 'app.three'], 'nothing of the refused file was applied');
  assert.equal((await viewer.send('POST', '/v1/app/two', { body: {} })).status, 202);

  const from2 = port.log().length;
  replace('service: [unclosed\n');
  await port.waitLog(/refused: the config has 1 problem/, 30_000, from2);
  assert.deepEqual(await ids(), ['app.two', 'app.three']);
});

test('a change to a key that needs a restart is refused as a whole, naming it', async () => {
  const from = port.log().length;
  fs.writeFileSync(file, config([echo('app.five', 'five')], { requireReasonForDestructive: true }));
  port.hup();
  await port.waitLog(/reload \(SIGHUP\) refused: requireReasonForDestructive changed: only endpoints, health, metrics and the migration commands reload; restart opsctl-port/, 30_000, from);
  assert.deepEqual(await ids(), ['app.two', 'app.three']);
  const metrics = (await viewer.call('metrics.get')).text;
  assert.match(metrics, /opsctl_port_config_reloads_total\{result="applied"\} 2/, 'the start and the first reload');
  assert.match(metrics, /opsctl_port_config_reloads_total\{result="refused"\} 3/);
});

test('a good file written after refusals applies; SIGTERM closes cleanly', async () => {
  const from = port.log().length;
  replace(config([echo('app.six', 'six')]));
  await port.waitLog(/reload \(the config file changed\) applied: 1 endpoint\(s\), added app\.six/, 30_000, from);
  assert.deepEqual(await ids(), ['app.six']);
  assert.equal(await port.stop(), 0);
  assert.match(port.log(), /SIGTERM: closing/);
});
