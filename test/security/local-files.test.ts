/**
 * Weakness: opsctl trusted directories another local user can create first.
 * Without XDG_RUNTIME_DIR the CLI's runtime dir was a predictable path in
 * the shared temp dir, and a file in it (the background tunnel's log) was
 * opened — following links, creating what was missing — before the
 * directory's owner and mode were checked: another user could make the CLI
 * append to any file the operator can write, and the command then refused
 * to run at all.
 *
 * Attack, as another local user (a real account, `opsctl-mallory`, made with
 * useradd): plant directories, symlinks to the operator's files and FIFOs in
 * every place the CLI or the server would use — the old runtime path in the
 * temp dir, a shared XDG_RUNTIME_DIR, XDG_STATE_HOME, XDG_CACHE_HOME and
 * XDG_CONFIG_HOME, the server's data dir — and drive the real CLI through a
 * real bastion and service host, and createInternalPort.
 *
 * Expected: nothing is followed, appended to, or blocked on; the CLI uses a
 * private directory instead and works, or, where no safe place is left or a
 * file must be where the operator put it (config), fails with exit 5 and a
 * message naming the directory; the server refuses to start naming it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInternalPort } from '../../src/server/index.js';
import { makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { runCli, startStack, type Stack } from '../helpers/stack.js';
import { tempDir } from '../server/fixtures/harness.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const MALLORY = 'opsctl-mallory';
let mallory: { uid: number; gid: number } | undefined;
let whyNot: string | undefined;
let stack: Stack | undefined;
let victim = '';
const VICTIM_TEXT = 'export PATH=/usr/bin:/bin\n';

/** Another local user: a real account (root is needed to make one; under CI it must work). */
function otherUser(): { uid: number; gid: number } | undefined {
  try {
    try {
      execFileSync('id', ['-u', MALLORY], { stdio: 'pipe' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', MALLORY], { stdio: 'pipe' });
    }
    const uid = Number(execFileSync('id', ['-u', MALLORY], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', MALLORY], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch (e) {
    whyNot = `cannot make a second local user (needs root and useradd): ${(e as Error).message}`;
    if (CI) throw new Error(`CI: ${whyNot}`, { cause: e });
    return undefined;
  }
}

/** What mallory plants: a directory of theirs, open to all (as a directory in /tmp would be). */
function plantDir(dir: string, mode = 0o777): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
  fs.chownSync(dir, mallory!.uid, mallory!.gid);
}
function plantLink(target: string, at: string): void {
  fs.symlinkSync(target, at);
  fs.lchownSync(at, mallory!.uid, mallory!.gid);
}
function plantFifo(at: string): void {
  execFileSync('mkfifo', ['-m', '666', at]);
  fs.chownSync(at, mallory!.uid, mallory!.gid);
}
/** A directory anyone may create entries in, as /tmp is (sticky). */
function sharedDir(name: string): string {
  const d = path.join(stack!.dir, name);
  fs.mkdirSync(d);
  fs.chmodSync(d, 0o1777);
  return d;
}
/** Every entry under a planted directory, with its size: nothing may be added or grow. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.isSymbolicLink() ? 'link' : st.isFIFO() ? 'fifo' : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

before(async (t) => {
  mallory = otherUser();
  if (!mallory) return;
  stack = await startStack(t as never, { demoArgs: ['--no-approvals'] });
  if (!stack) return;
  stack.writeContext('prod');
  victim = path.join(stack.dir, 'victim-profile');
  fs.writeFileSync(victim, VICTIM_TEXT, { mode: 0o644 });
});

after(async () => {
  await stack?.stop();
});

const skipped = (t: { skip: (why: string) => void }) => {
  if (stack) return false;
  t.skip(whyNot ?? 'no sshd');
  return true;
};

test('no XDG_RUNTIME_DIR, the old runtime path planted with links to the operator\'s files: the tunnel runs from a private dir, nothing is appended to', async (t) => {
  if (skipped(t)) return;
  const tmp = sharedDir('tmp');
  const env = { ...stack!.env, TMPDIR: tmp };
  delete (env as Record<string, string | undefined>).XDG_RUNTIME_DIR;
  // Where opsctl used to keep its sockets: $TMPDIR/opsctl-<uid>.
  const predictable = path.join(tmp, `opsctl-${process.getuid!()}`);
  plantDir(predictable);
  plantLink(victim, path.join(predictable, 'tunnel-prod.log'));
  plantLink(victim, path.join(predictable, 'tunnel-prod.json'));
  plantFifo(path.join(predictable, 'tunnel-prod.sock'));
  const planted = snapshot(predictable);
  const bg = await runCli(['tunnel', '--background', '--context', 'prod'], env);
  try {
    assert.equal(bg.code, 0, bg.stderr);
    const status = await runCli(['-o', 'json', 'tunnel', '--status', '--context', 'prod'], env);
    assert.equal(status.code, 0, status.stderr);
    const socket = (JSON.parse(status.stdout) as { socket: string }).socket;
    assert.equal(path.dirname(socket), path.join(stack!.dir, '.local', 'state', 'opsctl', 'run'), 'a private runtime dir under the state home');
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700);
    const health = await runCli(['-o', 'json', 'health', '--context', 'prod'], env);
    assert.equal(health.code, 0, health.stderr);
  } finally {
    const stop = await runCli(['tunnel', '--stop', '--context', 'prod'], env);
    assert.equal(stop.code, 0, stop.stderr);
  }
  assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT, 'the operator\'s file was not appended to');
  assert.deepEqual(snapshot(predictable), planted, 'nothing was written in the planted directory');
});

test('a shared XDG_RUNTIME_DIR whose opsctl/ is someone else\'s: not used, the tunnel runs from the private fallback', async (t) => {
  if (skipped(t)) return;
  const run = sharedDir('shared-run');
  plantDir(path.join(run, 'opsctl'));
  plantLink(victim, path.join(run, 'opsctl', 'tunnel-prod.log'));
  const planted = snapshot(run);
  const env = { ...stack!.env, XDG_RUNTIME_DIR: run };
  const bg = await runCli(['-o', 'json', 'tunnel', '--background', '--context', 'prod'], env);
  try {
    assert.equal(bg.code, 0, bg.stderr);
    assert.equal(path.dirname((JSON.parse(bg.stdout) as { socket: string }).socket), path.join(stack!.dir, '.local', 'state', 'opsctl', 'run'));
  } finally {
    assert.equal((await runCli(['tunnel', '--stop', '--context', 'prod'], env)).code, 0);
  }
  assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT);
  assert.deepEqual(snapshot(run), planted);
});

test('state and cache homes planted with links and FIFOs: commands neither follow, block nor write there, and remember in the private fallback', async (t) => {
  if (skipped(t)) return;
  const shared = sharedDir('shared-homes');
  const state = path.join(shared, 'state');
  const cache = path.join(shared, 'cache');
  plantDir(state);
  plantDir(cache);
  plantDir(path.join(state, 'opsctl'));
  plantDir(path.join(cache, 'opsctl'));
  plantFifo(path.join(state, 'opsctl', 'audit-checkpoints.json'));
  plantLink(victim, path.join(state, 'opsctl', 'job-hosts.json'));
  plantLink(path.join(shared, 'elsewhere'), path.join(state, 'opsctl', 'instances'));
  plantFifo(path.join(cache, 'opsctl', 'prod.json'));
  const planted = snapshot(shared);
  const env = { ...stack!.env, XDG_STATE_HOME: state, XDG_CACHE_HOME: cache };
  for (const args of [['flags', 'list'], ['audit', 'verify'], ['whoami']]) {
    const r = await runCli(['--context', 'prod', ...args], env, { timeoutMs: 45_000 });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual(snapshot(shared), planted, 'nothing was written in the planted directories');
  assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT);
  const fallback = path.join(stack!.dir, '.local', 'state', 'opsctl');
  assert.ok(fs.existsSync(path.join(fallback, 'audit-checkpoints.json')), 'the witness state went to the private fallback');
  assert.equal(fs.statSync(fallback).mode & 0o777, 0o700);
});

test('a config directory of someone else\'s: context add fails with exit 5 naming it and writes nothing there', async (t) => {
  if (skipped(t)) return;
  const shared = sharedDir('shared-config');
  plantDir(path.join(shared, 'opsctl'));
  plantLink(victim, path.join(shared, 'opsctl', 'config.yaml'));
  const planted = snapshot(shared);
  const env = { ...stack!.env, XDG_CONFIG_HOME: shared };
  const r = await runCli(['context', 'add', 'other', ...stack!.contextFlags], env);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, new RegExp(`${path.join(shared, 'opsctl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is owned by uid ${mallory!.uid}`));
  assert.deepEqual(snapshot(shared), planted);
  assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT);
});

test('no safe place left for runtime files: the tunnel fails with exit 5 and a clear message; a one-shot command still works', async (t) => {
  if (skipped(t)) return;
  const shared = sharedDir('nowhere');
  plantDir(path.join(shared, 'opsctl'));
  const home = path.join(stack!.dir, 'broken-home');
  fs.mkdirSync(home, { mode: 0o700 });
  // Even the state home under HOME is someone else's (a broken home directory).
  plantDir(path.join(home, '.local', 'state', 'opsctl'));
  const env = { ...stack!.env, HOME: home, XDG_STATE_HOME: shared };
  delete (env as Record<string, string | undefined>).XDG_RUNTIME_DIR;
  const bg = await runCli(['tunnel', '--background', '--context', 'prod'], env);
  assert.equal(bg.code, 5, bg.stderr);
  assert.match(bg.stderr, /no safe directory for opsctl's runtime files/);
  const one = await runCli(['health', '--context', 'prod'], env);
  assert.equal(one.code, 0, one.stderr);
});

test('the server: a data dir of someone else\'s or open to all refuses the start, naming it; links and FIFOs where its files go are never followed or waited on', async (t) => {
  if (!mallory) { t.skip(whyNot ?? 'no second user'); return; }
  const dir = tempDir('opsctl-sec-files-');
  const victim = path.join(dir, 'victim-profile');
  fs.writeFileSync(victim, VICTIM_TEXT, { mode: 0o644 });
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const start = (auditLogFile: string, extra: Record<string, unknown> = {}) =>
      createInternalPort({ service: { name: 's', version: '1' }, authorizedKeysFile: allow, auditLogFile, log: () => undefined, ...extra });

    const theirs = path.join(dir, 'theirs');
    plantDir(theirs, 0o755);
    await assert.rejects(start(path.join(theirs, 'audit.jsonl')), new RegExp(`${theirs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is owned by uid ${mallory.uid}`));
    assert.deepEqual(fs.readdirSync(theirs), [], 'nothing written there');

    const open = path.join(dir, 'open');
    fs.mkdirSync(open, { mode: 0o700 });
    fs.chmodSync(open, 0o777);
    await assert.rejects(start(path.join(open, 'audit.jsonl')), /is writable by others \(mode 777\)/);
    assert.deepEqual(fs.readdirSync(open), []);

    // In a directory of the service's own, whatever was left there is not trusted blindly.
    const own = path.join(dir, 'own');
    fs.mkdirSync(own, { mode: 0o700 });
    execFileSync('mkfifo', [path.join(own, 'audit.jsonl')]);
    const t0 = Date.now();
    await assert.rejects(start(path.join(own, 'audit.jsonl')), /audit log/);
    assert.ok(Date.now() - t0 < 10_000, 'no wait on the FIFO');
    fs.rmSync(path.join(own, 'audit.jsonl'));
    execFileSync('mkfifo', [path.join(own, 'audit.jsonl.head')]);
    await assert.rejects(start(path.join(own, 'audit.jsonl')), /not a regular file/);
    fs.rmSync(path.join(own, 'audit.jsonl.head'));
    fs.rmSync(path.join(own, 'audit-signing-key.pem'), { force: true });
    plantLink(victim, path.join(own, 'audit-signing-key.pem'));
    await assert.rejects(start(path.join(own, 'audit.jsonl')), /audit signing key \S*audit-signing-key\.pem is a symbolic link/);
    fs.rmSync(path.join(own, 'audit-signing-key.pem'));
    execFileSync('mkfifo', [path.join(own, 'audit-signing-key.pem')]);
    const t1 = Date.now();
    await assert.rejects(start(path.join(own, 'audit.jsonl')), /audit signing key \S*audit-signing-key\.pem is not a regular file/);
    assert.ok(Date.now() - t1 < 10_000, 'no wait on the FIFO');
    fs.rmSync(path.join(own, 'audit-signing-key.pem'));
    plantLink(victim, path.join(own, 'flags.json'));
    await assert.rejects(start(path.join(own, 'audit.jsonl'), { flags: { definitions: [{ name: 'b', type: 'boolean', default: false, description: 'b' }] } }), /flags\.json is a symbolic link/);
    fs.rmSync(path.join(own, 'flags.json'));
    assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT);
    // And with nothing planted, the same directory works.
    const p = await start(path.join(own, 'audit.jsonl'));
    await p.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Starts a port in `dir` with notifications (and any other options), for the
 * cases below. A start that hangs on a FIFO is failed after a while, the
 * FIFO opened for writing once so the blocked read ends and nothing is left
 * hanging in the test process.
 */
async function startIn(dir: string, extra: Record<string, unknown> = {}, fifo?: string): Promise<{ closed: true } | Error> {
  const key = makeKey(dir, 'k');
  const allow = path.join(dir, 'authorized_keys');
  writeAllowlist(allow, [[key, 'admin']]);
  const { notifications, ...rest } = extra as { notifications?: Record<string, unknown> };
  const started = createInternalPort({
    service: { name: 's', version: '1' },
    authorizedKeysFile: allow,
    auditLogFile: path.join(dir, 'data', 'audit.jsonl'),
    log: () => undefined,
    notifications: { endpoints: [{ url: 'http://127.0.0.1:9/hook', name: 'rx' }], ...notifications },
    ...rest,
  });
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<'blocked'>((resolve) => { timer = setTimeout(() => resolve('blocked'), 8_000); });
  const first = await Promise.race([started.then(() => 'settled' as const, () => 'settled' as const), blocked]);
  clearTimeout(timer);
  if (first === 'blocked' && fifo) {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch { /* nobody reading after all */ }
  }
  const outcome = await started.then(async (p) => { await p.close(); return { closed: true } as const; }, (e: Error) => e);
  if (first === 'blocked') assert.fail(`the start waited on the FIFO ${fifo ?? ''} instead of refusing it`);
  return outcome;
}

test('the server\'s stores and notification files: a link or a FIFO at the approvals and grants stores, the queue journal, its signing key, a secret or URL file refuses the start, naming it; a link at a temp name is never written through', async () => {
  const root = tempDir('opsctl-sec-files2-');
  const victim = path.join(root, 'victim-profile');
  fs.writeFileSync(victim, VICTIM_TEXT, { mode: 0o644 });
  const secret = path.join(root, 'whsec');
  fs.writeFileSync(secret, `whsec_${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
  const slackUrl = path.join(root, 'slack-url');
  fs.writeFileSync(slackUrl, 'https://hooks.slack.test/services/T0/B0/secret-token\n', { mode: 0o600 });
  let n = 0;
  /** A fresh directory of the service's own, its data dir made, with `plant` done in it. */
  const fresh = (plant: (data: string, dir: string) => void = () => undefined) => {
    const dir = path.join(root, `case-${++n}`);
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    plant(path.join(dir, 'data'), dir);
    return dir;
  };
  const refused = (outcome: { closed: true } | Error, why: RegExp, what: string) => {
    assert.ok(outcome instanceof Error, `${what}: the start was refused`);
    assert.match(outcome.message, why, what);
  };
  try {
    // The stores persons' approvals and grants are kept in.
    for (const [file, what] of [['approvals.json', 'approval store'], ['grants.json', 'grant store']] as const) {
      refused(await startIn(fresh((d) => fs.symlinkSync(victim, path.join(d, file)))), new RegExp(`${what} \\S*${file.replace('.', '\\.')} is a symbolic link`), `${file} as a link`);
      let fifo = '';
      const dir = fresh((d) => { fifo = path.join(d, file); execFileSync('mkfifo', [fifo]); });
      refused(await startIn(dir, {}, fifo), new RegExp(`${file.replace('.', '\\.')} is not a regular file`), `${file} as a FIFO`);
    }

    // The notification queue's journal: a link, a FIFO.
    refused(await startIn(fresh((d) => fs.symlinkSync(victim, path.join(d, 'notify-queue.jsonl')))), /notification queue \S*notify-queue\.jsonl is a symbolic link/, 'the journal as a link');
    let fifo = '';
    refused(await startIn(fresh((d) => { fifo = path.join(d, 'notify-queue.jsonl'); execFileSync('mkfifo', [fifo]); }), {}, fifo), /notify-queue\.jsonl is not a regular file/, 'the journal as a FIFO');
    // The name the journal used to be compacted through: a link there is never written through.
    const compacted = await startIn(fresh((d) => fs.symlinkSync(victim, path.join(d, `notify-queue.jsonl.tmp-${process.pid}`))));
    assert.deepEqual(compacted, { closed: true }, 'a link at an old temp name does not stop the start');
    assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT, 'nor is the file it points to truncated');

    // The Ed25519 key of the v1a signatures: a link (to a file, or dangling), a FIFO.
    refused(await startIn(fresh((d) => fs.symlinkSync(victim, path.join(d, 'notify-signing-key.pem')))), /notification signing key \S*notify-signing-key\.pem is a symbolic link/, 'the key as a link');
    refused(await startIn(fresh((d) => fs.symlinkSync(path.join(root, 'nothing-here.pem'), path.join(d, 'notify-signing-key.pem')))), /notify-signing-key\.pem is a symbolic link/, 'the key as a dangling link');
    assert.equal(fs.existsSync(path.join(root, 'nothing-here.pem')), false, 'no key was written where the link points');
    refused(await startIn(fresh((d) => { fifo = path.join(d, 'notify-signing-key.pem'); execFileSync('mkfifo', [fifo]); }), {}, fifo), /notify-signing-key\.pem is not a regular file/, 'the key as a FIFO');
    // A key or a journal named elsewhere: that directory is checked as the data dir is.
    const open = path.join(root, 'open-to-all');
    fs.mkdirSync(open, { mode: 0o700 });
    fs.chmodSync(open, 0o777);
    refused(await startIn(fresh(), { notifications: { signingKeyFile: path.join(open, 'key.pem') } }), /open-to-all is writable by others \(mode 777\)/, 'a signing key in a directory open to all');
    refused(await startIn(fresh(), { notifications: { file: path.join(open, 'queue.jsonl') } }), /open-to-all is writable by others \(mode 777\)/, 'a journal in a directory open to all');
    assert.deepEqual(fs.readdirSync(open), [], 'nothing was written there');

    // The files it reads secrets from: the whsec_ secret, a Slack URL.
    const links = path.join(root, 'links');
    fs.mkdirSync(links, { mode: 0o700 });
    fs.symlinkSync(secret, path.join(links, 'whsec'));
    fs.symlinkSync(slackUrl, path.join(links, 'slack-url'));
    execFileSync('mkfifo', [path.join(links, 'fifo')]);
    refused(await startIn(fresh(), { notifications: { secretFile: path.join(links, 'whsec') } }), /secretFile cannot be read: webhook secret file \S*whsec is a symbolic link/, 'the secret through a link');
    refused(await startIn(fresh(), { notifications: { secretFile: path.join(links, 'fifo') } }, path.join(links, 'fifo')), /secretFile cannot be read: webhook secret file \S*fifo is not a regular file/, 'the secret as a FIFO');
    const slack = (urlFile: string) => ({ notifications: { endpoints: [{ kind: 'slack', urlFile }] } });
    const viaLink = await startIn(fresh(), slack(path.join(links, 'slack-url')));
    refused(viaLink, /endpoints\[0\]\.urlFile cannot be read: notification URL file \S*slack-url is a symbolic link/, 'the Slack URL through a link');
    assert.equal((viaLink as Error).message.includes('secret-token'), false, 'the URL is not repeated');
    refused(await startIn(fresh(), slack(path.join(links, 'fifo')), path.join(links, 'fifo')), /urlFile cannot be read: notification URL file \S*fifo is not a regular file/, 'the Slack URL as a FIFO');

    // With the files themselves (not links), the same start works; the key and journal are 0600.
    const ok = fresh();
    assert.deepEqual(await startIn(ok, { notifications: { secretFile: secret, endpoints: [{ url: 'http://127.0.0.1:9/hook', name: 'rx' }, { kind: 'slack', urlFile: slackUrl }] } }), { closed: true });
    for (const f of ['notify-signing-key.pem', 'notify-queue.jsonl']) assert.equal(fs.statSync(path.join(ok, 'data', f)).mode & 0o777, 0o600, f);
    assert.equal(fs.readFileSync(victim, 'utf8'), VICTIM_TEXT);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
