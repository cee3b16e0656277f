/**
 * Command-level test bench for the CLI: a REAL internal port (createInternalPort
 * on 127.0.0.1:0 with real flags, umzug migrations over a real SQLite file, a
 * database lock, tasks and custom endpoints), real ed25519 keys from
 * ssh-keygen in its allowlist, a temp config with contexts, and a way to run
 * `opsctl …` in-process through injected IO (PassThrough streams that are or
 * are not TTYs) with the factory's tunnel replaced by a direct TCP tunnel and
 * its identity by the test key. Everything else — commander, output, prompts,
 * signing, HTTP, the server — is the real thing.
 */
import { before, after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { Umzug, type UmzugStorage } from 'umzug';
import { createInternalPort, type InternalPort, type MigrationLock, type TaskDefinition, type CustomEndpoint } from '../../src/server/index.js';
import { buildProgram } from '../../src/cli/program.js';
import { execute } from '../../src/cli/main.js';
import type { IOStreams } from '../../src/cli/io.js';
import type { Factory } from '../../src/cli/factory.js';
import { sqliteLock } from './sqlite-migrations.js';
import type { Identity } from '../../src/cli/identity/types.js';
import { createFactory } from '../../src/cli/factory.js';
import type { GlobalOptions } from '../../src/cli/globals.js';
import { generateKeyPair, type TestKey } from './keys.js';
import { directTunnel, type DirectTunnel } from './direct-tunnel.js';

export type KeyName = 'admin' | 'operator' | 'viewer' | 'stranger';

export const MIGRATIONS = ['0001-create-items', '0002-add-price', '0003-create-orders'];

export interface Counters {
  /** Runs of each task handler / custom endpoint (proves what did or did not run). */
  runs: Map<string, number>;
}

export interface RunOptions {
  /** Whose key signs (default admin). */
  as?: KeyName;
  /** stdin/stdout/stderr are terminals (prompts allowed, tables drawn, colour on). */
  tty?: boolean;
  /**
   * Answers typed at prompts: when the stderr text written since the last
   * answer matches `when`, `before` runs (e.g. change the server's state),
   * then `send` and Enter are typed.
   */
  answers?: Array<{ when: RegExp; send: string; before?: () => Promise<void> | void }>;
  /** Extra environment (e.g. OPSCTL_CONTEXT). */
  env?: Record<string, string>;
  /** Gets the tunnel right after it is made (e.g. to drop it later). */
  onTunnel?: (t: DirectTunnel) => void;
  /**
   * Load the identity the real way (from --identity / the context) instead of
   * using the test key: keychain, agent and file identities end to end.
   */
  realIdentity?: boolean;
  /** Keep the factory's real tunnel() (which reuses a running `opsctl tunnel`). */
  realTunnel?: boolean;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as exactly one JSON document (throws otherwise). */
  json<T = any>(): T;
  /** stdout parsed as NDJSON (one document per non-empty line). */
  ndjson<T = any>(): T[];
}

export interface TestIO {
  io: IOStreams;
  stdout(): string;
  stderr(): string;
  /** Types into stdin. */
  type(text: string): void;
}

export interface CliHarness {
  dir: string;
  env: Record<string, string>;
  keys: Record<KeyName, TestKey>;
  /** The allowlist the port reloads when it changes. */
  allowlistFile: string;
  port: InternalPort;
  auditFile: string;
  db: Database.Database;
  migrator: Umzug<object>;
  lock: MigrationLock;
  counters: Counters;
  /** Runs `opsctl …argv` in-process like bin/opsctl does; returns exit code and output. */
  run(argv: string[], opts?: RunOptions): Promise<CliResult>;
  /** A factory wired like run() does, for calling a command's run(f, opts) directly. */
  factory(opts?: RunOptions & { globals?: Partial<GlobalOptions> }): { f: Factory; io: TestIO; tunnel: () => DirectTunnel | undefined; close(): Promise<void> };
  /** The audit log, parsed. */
  audit(): Array<Record<string, any>>;
  /**
   * The audit log once it stopped growing: the record of a streamed request
   * (job events) is written when the server finishes the response, which can
   * be just after the command returned.
   */
  auditSettled(): Promise<Array<Record<string, any>>>;
  close(): Promise<void>;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    }, { once: true });
  });
}

export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Streams that collect what is written, marked as terminals or not. */
export function testIO(env: Record<string, string>, tty: boolean): TestIO {
  const mk = () => {
    const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
    if (tty) {
      s.isTTY = true;
      s.columns = 120;
    }
    // Like process.stdout/stderr, which a prompt library may pipe into and
    // "end": the process streams stay writable, so these do too.
    s.end = ((chunk?: unknown) => {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) s.write(chunk);
      return s;
    }) as typeof s.end;
    return s;
  };
  const stdin = mk();
  const stdout = mk();
  const stderr = mk();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return {
    io: { stdin, stdout, stderr, env: { ...env } },
    stdout: () => out,
    stderr: () => err,
    type: (text) => stdin.write(text),
  };
}

function identityOf(key: TestKey): Identity {
  return {
    spec: { kind: 'file', path: key.privatePath },
    publicKeyLine: key.publicLine,
    keyid: key.keyid,
    sign: async (data) => key.sign(data),
    ssh: { privateKey: null },
  };
}

function sqliteMigrator(db: Database.Database, names: string[], opts: { failing?: string; delayMs?: number }): Umzug<object> {
  db.exec('CREATE TABLE IF NOT EXISTS migrations_applied (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const storage: UmzugStorage = {
    async logMigration({ name }) {
      db.prepare('INSERT INTO migrations_applied (name, applied_at) VALUES (?, ?)').run(name, new Date().toISOString());
    },
    async unlogMigration({ name }) {
      db.prepare('DELETE FROM migrations_applied WHERE name = ?').run(name);
    },
    async executed() {
      return (db.prepare('SELECT name FROM migrations_applied ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    },
  };
  const table = (name: string) => `t_${name.replace(/[^a-z0-9]/gi, '_')}`;
  return new Umzug({
    logger: undefined,
    storage,
    migrations: names.map((name) => ({
      name,
      async up() {
        if (opts.delayMs) await sleep(opts.delayMs);
        if (name === opts.failing) throw new Error(`migration ${name} failed on purpose`);
        db.exec(`CREATE TABLE ${table(name)} (id INTEGER PRIMARY KEY)`);
      },
      async down() {
        db.exec(`DROP TABLE ${table(name)}`);
      },
    })),
  });
}

function tasks(counters: Counters): TaskDefinition[] {
  const ran = (n: string) => counters.runs.set(n, (counters.runs.get(n) ?? 0) + 1);
  return [
    {
      name: 'count',
      summary: 'Counts with progress and logs',
      role: 'operator',
      destructive: false,
      params: {
        type: 'object',
        properties: {
          steps: { type: 'integer', minimum: 1, maximum: 200, default: 3 },
          delayMs: { type: 'integer', minimum: 0, maximum: 5000, default: 10 },
          fail: { type: 'boolean' },
          label: { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          ratio: { type: 'number' },
        },
        additionalProperties: false,
      },
      async handler(p, ctx) {
        ran('count');
        const steps = typeof p.steps === 'number' ? p.steps : 3;
        const delay = typeof p.delayMs === 'number' ? p.delayMs : 10;
        for (let i = 0; i < steps; i++) {
          await sleep(delay, ctx.signal);
          ctx.progress({ current: i + 1, total: steps, message: `step ${i + 1}` });
          ctx.log(`counted ${i + 1}`);
        }
        if (p.fail === true) throw new Error('count failed on purpose');
        return { counted: steps, label: p.label ?? null, tags: p.tags ?? null, ratio: p.ratio ?? null };
      },
    },
    {
      name: 'purge',
      summary: 'Deletes old rows (destructive)',
      role: 'admin',
      destructive: true,
      params: { type: 'object', properties: { olderThanDays: { type: 'integer', minimum: 0 } }, required: ['olderThanDays'], additionalProperties: false },
      async handler(p) {
        ran('purge');
        return { purged: 2, olderThanDays: p.olderThanDays };
      },
    },
    {
      name: 'rotate',
      summary: 'Rotates a credential (secret param)',
      role: 'operator',
      destructive: false,
      params: { type: 'object', properties: { user: { type: 'string' }, password: { type: 'string', secret: true } }, required: ['password'], additionalProperties: false },
      async handler(p) {
        ran('rotate');
        // Proves which value arrived without echoing it back.
        return { user: p.user ?? null, passwordLength: typeof p.password === 'string' ? p.password.length : null, passwordIsHunter2: p.password === 'hunter2' };
      },
    },
    {
      name: 'wait',
      summary: 'Waits until cancelled (or 20 s)',
      role: 'operator',
      destructive: false,
      params: { type: 'object', properties: {}, additionalProperties: false },
      async handler(_p, ctx) {
        ran('wait');
        ctx.progress({ current: 0, total: 1, message: 'waiting' });
        await sleep(20_000, ctx.signal);
        return { waited: true };
      },
    },
  ];
}

function endpoints(counters: Counters): CustomEndpoint[] {
  const ran = (n: string) => counters.runs.set(n, (counters.runs.get(n) ?? 0) + 1);
  return [
    {
      id: 'orders.stats',
      method: 'GET',
      path: '/v1/orders/stats',
      summary: 'Order statistics',
      role: 'viewer',
      params: { type: 'object', properties: { since: { type: 'string', in: 'query' }, detailed: { type: 'boolean', in: 'query' } }, additionalProperties: false },
      handler: (p) => {
        ran('orders.stats');
        return { orders: 3, since: p.since ?? null, detailed: p.detailed ?? false };
      },
    },
    {
      id: 'cache.flush',
      method: 'POST',
      path: '/v1/cache/flush',
      summary: 'Flush the cache',
      role: 'admin',
      destructive: true,
      params: { type: 'object', properties: { region: { type: 'string' }, all: { type: 'boolean' }, weights: { type: 'object' } }, additionalProperties: false },
      handler: (p) => {
        ran('cache.flush');
        return { flushed: true, region: p.region ?? null, all: p.all ?? false, weights: p.weights ?? null };
      },
    },
    {
      id: 'search.reindex',
      method: 'POST',
      path: '/v1/search/reindex',
      summary: 'Rebuild the search index',
      role: 'operator',
      params: { type: 'object', properties: { shards: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      async job(p, ctx) {
        ran('search.reindex');
        const n = typeof p.shards === 'number' ? p.shards : 2;
        for (let i = 0; i < n; i++) {
          await sleep(5, ctx.signal);
          ctx.progress({ current: i + 1, total: n });
        }
        return { shards: n };
      },
    },
    // Service commands (src/cli/service-commands): an enum, a bounded integer,
    // a boolean, a secret and a param named like opsctl's own --host.
    {
      id: 'lb.list',
      method: 'GET',
      path: '/v1/lb',
      summary: 'Backends and their weights',
      role: 'viewer',
      params: { type: 'object', properties: {}, additionalProperties: false },
      handler: () => {
        ran('lb.list');
        return { servers: [{ name: 'web1', weight: 10 }, { name: 'web2', weight: 10 }] };
      },
    },
    {
      id: 'lb.weight',
      method: 'POST',
      path: '/v1/lb/{server}/weight',
      summary: 'Set the weight of a backend',
      description: 'Sends the new weight to the load balancer.',
      role: 'operator',
      destructive: true,
      params: {
        type: 'object',
        properties: {
          server: { type: 'string', enum: ['web1', 'web2'], in: 'path', description: 'backend' },
          weight: { type: 'integer', minimum: 0, maximum: 256, description: 'new weight' },
          drain: { type: 'boolean', description: 'drain connections first' },
          token: { type: 'string', secret: true, description: 'admin token of the balancer' },
          host: { type: 'string', description: 'balancer host' },
        },
        required: ['server', 'weight'],
        additionalProperties: false,
      },
      handler: (p) => {
        ran('lb.weight');
        return { server: p.server, weight: p.weight, drain: p.drain ?? false, token: p.token === undefined ? null : `${String(p.token).length} chars`, host: p.host ?? null };
      },
    },
    {
      id: 'flags.export',
      method: 'GET',
      path: '/v1/flags-export',
      summary: 'Every flag as one document',
      role: 'viewer',
      params: { type: 'object', properties: {}, additionalProperties: false },
      handler: () => {
        ran('flags.export');
        return { exported: true };
      },
    },
  ];
}

const keyCache: { dir?: string; keys?: Record<KeyName, TestKey> } = {};

function makeKeys(): Record<KeyName, TestKey> {
  if (keyCache.keys) return keyCache.keys;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-cli-keys-'));
  keyCache.dir = dir;
  keyCache.keys = {
    admin: generateKeyPair('alice', { dir }),
    operator: generateKeyPair('oscar', { dir }),
    viewer: generateKeyPair('vera', { dir }),
    stranger: generateKeyPair('mallory', { dir }),
  };
  return keyCache.keys;
}

export interface HarnessOptions {
  migrations?: string[];
  /** A migration whose up throws (the job fails). */
  failingMigration?: string;
  migrationDelayMs?: number;
  /** More options of the port (approvals, notifications…), merged over the harness's own. */
  portOptions?: Partial<import('../../src/server/index.js').InternalPortOptions>;
}

export async function startCliHarness(opts: HarnessOptions = {}): Promise<CliHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-cli-'));
  const keys = makeKeys();
  const allowlist = path.join(dir, 'authorized_keys');
  fs.writeFileSync(allowlist, [
    keys.admin.authorizedKeysLine('admin'),
    keys.operator.authorizedKeysLine('operator'),
    keys.viewer.authorizedKeysLine('viewer'),
  ].join('\n') + '\n', { mode: 0o600 });
  const auditFile = path.join(dir, 'audit.jsonl');
  const db = new Database(path.join(dir, 'app.db'));
  db.pragma('journal_mode = WAL');
  const migrator = sqliteMigrator(db, opts.migrations ?? MIGRATIONS, {
    ...(opts.failingMigration ? { failing: opts.failingMigration } : {}),
    ...(opts.migrationDelayMs ? { delayMs: opts.migrationDelayMs } : {}),
  });
  const lock = sqliteLock(db);
  const counters: Counters = { runs: new Map() };
  const port = await createInternalPort({
    service: { name: 'cli-test', version: '9.9.9' },
    authorizedKeysFile: allowlist,
    auditLogFile: auditFile,
    log: () => {},
    flags: {
      file: path.join(dir, 'flags.json'),
      definitions: [
        { name: 'maintenance_mode', type: 'boolean', default: false, description: 'Refuse writes' },
        { name: 'discount_percent', type: 'percentage', default: 0, description: 'Discount on new orders' },
        { name: 'max_page_size', type: 'integer', default: 50, min: 1, max: 500, description: 'Page size cap' },
        { name: 'greeting', type: 'string', default: 'hello', description: 'Banner text' },
      ],
    },
    migrations: { migrator, lock },
    tasks: tasks(counters),
    endpoints: endpoints(counters),
    ...opts.portOptions,
  });

  const runtime = path.join(dir, 'run');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const configFile = path.join(dir, 'config', 'opsctl', 'config.yaml');
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  const ctx = (extra: string) => `    host: svc.test\n    port: ${port.port}\n    identity: keychain:unused\n${extra}`;
  fs.writeFileSync(configFile, [
    'current-context: test',
    'contexts:',
    '  test:',
    ctx(''),
    '  prod:',
    ctx('    protected: true\n'),
    '  strict:',
    ctx('    require-reason: true\n'),
  ].join('\n'));
  const env: Record<string, string> = {
    HOME: dir,
    OPSCTL_CONFIG: configFile,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_RUNTIME_DIR: runtime,
    TERM: 'xterm-256color',
    PATH: process.env.PATH ?? '',
  };

  const wire = (f: Factory, o: RunOptions, tunnels: DirectTunnel[]) => {
    // A factory for another context (approvals watch --all-contexts) is wired the same way.
    const forContext = f.forContext.bind(f);
    f.forContext = (name) => {
      const child = forContext(name);
      wire(child, o, tunnels);
      return child;
    };
    const key = keys[o.as ?? 'admin'];
    if (!o.realIdentity) f.identity = async () => identityOf(key);
    if (o.realTunnel) return;
    let t: Promise<DirectTunnel> | undefined;
    f.tunnel = () => {
      // Like the real tunnel(): the target (context) is resolved first, so a
      // bad --context still fails here.
      t ??= f.context().then(() => {
        const tunnel = directTunnel('127.0.0.1', port.port!);
        tunnels.push(tunnel);
        o.onTunnel?.(tunnel);
        return tunnel;
      });
      return t;
    };
  };

  const answerer = (tio: TestIO, o: RunOptions) => {
    const answers = [...(o.answers ?? [])];
    let seen = 0;
    let busy = false;
    const check = async () => {
      if (busy || !answers.length) return;
      const fresh = stripAnsi(tio.stderr().slice(seen));
      const next = answers[0]!;
      if (!next.when.test(fresh)) return;
      busy = true;
      answers.shift();
      seen = tio.stderr().length;
      await next.before?.();
      // Let the prompt finish rendering before typing.
      setTimeout(() => {
        tio.type(`${next.send}\n`);
        busy = false;
      }, 20);
    };
    (tio.io.stderr as PassThrough).on('data', () => void check());
  };

  const h: CliHarness = {
    dir,
    env,
    keys,
    allowlistFile: allowlist,
    port,
    auditFile,
    db,
    migrator: migrator as unknown as Umzug<object>,
    lock,
    counters,
    async run(argv, o = {}) {
      const tio = testIO({ ...env, ...o.env }, Boolean(o.tty));
      answerer(tio, o);
      const built = buildProgram(tio.io);
      const tunnels: DirectTunnel[] = [];
      wire(built.factory, o, tunnels);
      let code: number;
      // Exactly what src/cli/main.ts does: parse, run, the one error handler.
      try {
        code = await execute(built, tio.io, argv);
      } finally {
        await Promise.all(tunnels.map((t) => t.close()));
      }
      await new Promise((r) => setImmediate(r));
      const stdout = tio.stdout();
      const stderr = tio.stderr();
      return {
        code,
        stdout,
        stderr,
        json: () => JSON.parse(stdout),
        ndjson: () => stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)),
      };
    },
    factory(o = {}) {
      const tio = testIO({ ...env, ...o.env }, Boolean(o.tty));
      answerer(tio, o);
      const globals: GlobalOptions = { output: 'table', yes: false, color: true, timeout: 15, verbose: false, ...o.globals };
      const f = createFactory(tio.io, () => globals);
      const tunnels: DirectTunnel[] = [];
      wire(f, o, tunnels);
      return {
        f,
        io: tio,
        tunnel: () => tunnels[0],
        async close() {
          await f.close();
          await Promise.all(tunnels.map((t) => t.close()));
        },
      };
    },
    audit() {
      if (!fs.existsSync(auditFile)) return [];
      return fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async auditSettled() {
      let last = -1;
      for (;;) {
        const n = h.audit().length;
        if (n === last) return h.audit();
        last = n;
        await sleep(150);
      }
    },
    async close() {
      await port.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Removes the shared key dir (call once at the end of a test file). */
export function cleanupKeys(): void {
  if (keyCache.dir) fs.rmSync(keyCache.dir, { recursive: true, force: true });
  keyCache.dir = undefined;
  keyCache.keys = undefined;
}

/**
 * One harness for a whole test file: started before the first test, closed
 * (and its keys removed) after the last. The returned object stands for the
 * harness once it has started.
 */
export function fileHarness(opts: HarnessOptions = {}): CliHarness {
  let h: CliHarness | undefined;
  before(async () => {
    h = await startCliHarness(opts);
  });
  after(async () => {
    await h?.close();
    cleanupKeys();
  });
  return new Proxy({} as CliHarness, {
    get(_target, prop) {
      if (!h) throw new Error('the CLI harness is used before it started (call it inside a test)');
      const v = (h as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(h) : v;
    },
  });
}
