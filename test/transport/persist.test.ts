/**
 * Held connections through real sshd processes and the built CLI:
 * `opsctl tunnel --background` / --status / --stop, a context's `persist:`
 * (ControlPersist: started by the first command, reused, replaced when dead,
 * gone after the idle time), a dropped SSH connection re-established on the
 * next command, and a reused path that never loads ssh2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startStack, type Stack } from '../helpers/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function configFile(stack: Stack): string {
  return path.join(stack.env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
}

/** The holder's pid as `tunnel --status -o json` reports it. */
async function holderPid(stack: Stack): Promise<number | null> {
  const r = await stack.cli(['tunnel', '--status', '-o', 'json']);
  return (JSON.parse(r.stdout) as { pid: number | null }).pid;
}

/** Processes whose parent is `ppid` (sshd's per-connection children). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

test('tunnel --background detaches and serves; --status and --stop find it by pid', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  let pid = 0;
  try {
    stack.writeContext('lab');
    const bg = await stack.cli(['tunnel', '--background', '--listen', '127.0.0.1:0']);
    assert.equal(bg.code, 0, bg.stderr);
    const m = /runs in the background \(pid (\d+)\)/.exec(bg.stderr);
    assert.ok(m, bg.stderr);
    pid = Number(m[1]);
    assert.ok(alive(pid));
    assert.match(bg.stderr, /reuse socket .*tunnel-lab\.sock/);
    assert.match(bg.stderr, /listening on 127\.0\.0\.1:\d+/);

    const st = await stack.cli(['tunnel', '--status', '-o', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const doc = JSON.parse(st.stdout) as { running: boolean; pid: number; listen: string };
    assert.equal(doc.running, true);
    assert.equal(doc.pid, pid);
    assert.match(doc.listen, /^127\.0\.0\.1:\d+$/);

    const human = await stack.cli(['tunnel', '--status']);
    assert.match(human.stdout, /^listen\s+127\.0\.0\.1:\d+$/m, human.stdout);

    const again = await stack.cli(['tunnel', '--background']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already open/);

    const h = await stack.cli(['-v', 'health']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stderr, /reusing the open tunnel of context lab/);
    assert.doesNotMatch(h.stderr, /ssh: connecting/);

    const stop = await stack.cli(['tunnel', '--stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, new RegExp(`stopped \\(pid ${pid}\\)`));
    assert.equal(alive(pid), false);
    // Without --listen the row says there is no TCP port rather than staying blank.
    const plain = await stack.cli(['tunnel', '--background']);
    assert.equal(plain.code, 0, plain.stderr);
    pid = Number(/runs in the background \(pid (\d+)\)/.exec(plain.stderr)![1]);
    const noTcp = await stack.cli(['tunnel', '--status']);
    assert.match(noTcp.stdout, /^listen\s+no TCP port/m, noTcp.stdout);
    assert.equal((await stack.cli(['tunnel', '--stop'])).code, 0);
    const none = await stack.cli(['tunnel', '--status']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no tunnel holds context "lab" open/);
    const stopAgain = await stack.cli(['tunnel', '--stop']);
    assert.equal(stopAgain.code, 0);
  } finally {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await stack.stop();
  }
});

test('persist: the first command starts a holder, later ones reuse it, a dead one is replaced, an idle one exits', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  const pids = new Set<number>();
  try {
    stack.writeContext('lab');
    fs.appendFileSync(configFile(stack), '    persist: 3s\n');

    const first = await stack.cli(['-v', 'health']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /started a background holder for context lab \(persist 3 s\)/);
    const pid = (await holderPid(stack))!;
    assert.ok(pid && alive(pid));
    pids.add(pid);

    const second = await stack.cli(['-v', '-o', 'json', 'migrate', 'status']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /reusing the open tunnel/);
    assert.doesNotMatch(second.stderr, /started a background holder|ssh: connecting/);
    assert.ok(Array.isArray(JSON.parse(second.stdout).pending));

    // A dead holder (killed hard: its socket file stays behind) is replaced.
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 20 && alive(pid); i++) await sleep(50);
    const third = await stack.cli(['-v', 'health']);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /started a background holder/);
    const pid2 = (await holderPid(stack))!;
    pids.add(pid2);
    assert.notEqual(pid2, pid);

    // Unused for the persist time: it exits by itself and removes its socket.
    const deadline = Date.now() + 12_000;
    while (alive(pid2) && Date.now() < deadline) await sleep(200);
    assert.equal(alive(pid2), false, 'the idle holder exited');
    assert.equal(fs.existsSync(path.join(stack.env.XDG_RUNTIME_DIR!, 'opsctl', 'tunnel-lab.sock')), false);
  } finally {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    await stack.stop();
  }
});

test('a held connection that drops is re-established by the next command, which succeeds', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  let pid = 0;
  try {
    stack.writeContext('lab');
    const bg = await stack.cli(['tunnel', '--background']);
    assert.equal(bg.code, 0, bg.stderr);
    pid = (await holderPid(stack))!;
    // Kill the bastion sshd's per-connection process: the SSH connection dies.
    const sessions = childrenOf(stack.bastion.pid);
    assert.ok(sessions.length >= 1, 'the holder is connected to the bastion');
    for (const s of sessions) process.kill(s, 'SIGKILL');
    await sleep(300);
    const h = await stack.cli(['health']);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(alive(pid), true, 'the same holder, reconnected');
    assert.ok(childrenOf(stack.bastion.pid).length >= 1, 'a new SSH connection to the bastion');
  } finally {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await stack.stop();
  }
});

test('the reused path loads no ssh2 (module loads recorded by a resolve hook)', async (t) => {
  const stack = await startStack(t);
  if (!stack) return;
  let pid = 0;
  try {
    stack.writeContext('lab');
    const bg = await stack.cli(['tunnel', '--background']);
    assert.equal(bg.code, 0, bg.stderr);
    pid = (await holderPid(stack))!;
    const hooks = path.join(stack.dir, 'hooks.mjs');
    const register = path.join(stack.dir, 'register.mjs');
    const log = path.join(stack.dir, 'modules.log');
    fs.writeFileSync(hooks, "import fs from 'node:fs';\nlet log;\nexport function initialize(d) { log = d.log; }\nexport async function resolve(s, c, next) { const r = await next(s, c); fs.appendFileSync(log, r.url + '\\n'); return r; }\n");
    fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });\n`);
    const { runCli } = await import('../helpers/stack.js');
    const r = await runCli(['health'], { ...stack.env, NODE_OPTIONS: `--import ${register}` });
    assert.equal(r.code, 0, r.stderr);
    const loaded = fs.readFileSync(log, 'utf8');
    assert.match(loaded, /dist\/cli\/main\.js/, 'the hook saw the CLI load');
    for (const heavy of ['ssh2', 'cpu-features', 'got', '@inquirer']) assert.ok(!loaded.includes(`/node_modules/${heavy}`), `${heavy} loaded:\n${loaded}`);
  } finally {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await stack.stop();
  }
});
