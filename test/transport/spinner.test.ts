/**
 * Feedback while connecting, in a real terminal (tmux): a bastion or host
 * that accepts TCP and never speaks gets a spinner on stderr naming the hop
 * after ~300 ms, following the route hop by hop; nothing of it when piped
 * or with -o json, and nothing left on the screen once the command ends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { requireTmux, runInTerminal } from '../helpers/tmux.js';
import { requireSshd, sshdMissing, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { CLI, ROOT, ensureBuilt, privateHome, runCli } from '../helpers/stack.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';

let silent: net.Server;
let silentPort: number;
const held = new Set<net.Socket>();
let bastion: Sshd;
let key: TestKey;
let home: ReturnType<typeof privateHome>;
let kh: string;

before(async () => {
  if (sshdMissing()) return;
  ensureBuilt();
  home = privateHome('opsctl-conn-spinner-');
  key = generateKeyPair('spinner', { dir: home.dir });
  bastion = await startSshd({ authorizedKeys: [key.publicLine] });
  kh = path.join(home.dir, 'known_hosts');
  fs.writeFileSync(kh, bastion.knownHostsLine + '\n', { mode: 0o600 });
  // Accepts TCP, never sends a byte (no SSH banner).
  silent = net.createServer((s) => {
    held.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => (silent ? silent.close(r) : r(undefined)));
  await bastion?.stop();
  if (home) fs.rmSync(home.dir, { recursive: true, force: true });
});

const route = (bastionPort: number, hostPort: number) => [
  '--bastion', `${TEST_USER}@127.0.0.1:${bastionPort}`,
  '--host', `${TEST_USER}@127.0.0.1:${hostPort}`,
  '--port', '9900', '--identity', key.privatePath, '--known-hosts', kh, '--timeout', '4',
];

test('on a TTY: a silent bastion gets a spinner naming it; cleared when the command gives up', async (t) => {
  if (requireTmux(t) || requireSshd(t)) return;
  const run = runInTerminal([process.execPath, CLI, ...route(silentPort, 22), 'health'], home.env, ROOT);
  try {
    const screen = await run.waitFor(/connecting to bastion/, 3500);
    assert.match(screen, new RegExp(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] connecting to bastion 127\\.0\\.0\\.1 \\(127\\.0\\.0\\.1:${silentPort}\\)…`));
    const { code, screen: end } = await run.exit(15_000);
    assert.equal(code, 5, end);
    assert.match(end, /timed out after 4 s connecting to bastion/);
    assert.doesNotMatch(end, /connecting to bastion 127/, 'the spinner line is gone');
  } finally {
    run.kill();
  }
});

test('on a TTY: the spinner follows the route to the next hop (a real bastion, then a silent service host)', async (t) => {
  if (requireTmux(t) || requireSshd(t)) return;
  const run = runInTerminal([process.execPath, CLI, ...route(bastion.port, silentPort), 'health'], home.env, ROOT);
  try {
    const screen = await run.waitFor(/connecting to service host/, 3500);
    assert.match(screen, new RegExp(`connecting to service host 127\\.0\\.0\\.1 \\(127\\.0\\.0\\.1:${silentPort}\\)…`));
    const { code } = await run.exit(15_000);
    assert.equal(code, 5);
  } finally {
    run.kill();
  }
});

test('-o json on a TTY, and piped: no spinner at all', async (t) => {
  if (requireTmux(t) || requireSshd(t)) return;
  const run = runInTerminal([process.execPath, CLI, ...route(silentPort, 22), '-o', 'json', 'health'], home.env, ROOT);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(run.screen(), /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] connecting to/);
    const { code } = await run.exit(15_000);
    assert.equal(code, 5);
  } finally {
    run.kill();
  }
  const piped = await runCli([...route(silentPort, 22), 'health'], home.env, { timeoutMs: 20_000 });
  assert.equal(piped.code, 5);
  assert.doesNotMatch(piped.stderr, /connecting to bastion 127|\x1b|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
});
