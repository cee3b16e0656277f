/**
 * A running opsctl-port: the config loaded and checked, the internal port
 * started with it, and reloads — on SIGHUP (wired by main.ts) or when the
 * config file changes — that apply a valid config's endpoints, health
 * checks and metrics all at once, or refuse it with the reasons in the log
 * and keep the running one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInternalPort } from '../../server/create-internal-port.js';
import type { PortLog } from '../../server/logger.js';
import type { InternalPort } from '../../server/options.js';
import { loadConfig, type LoadedConfig } from '../config/load-config.js';
import { formatPath, type ConfigProblem } from '../config/yaml-source.js';
import { NamedLocks } from '../locks/named-locks.js';
import { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import { CommandMigrator } from '../migrations/command-migrator.js';
import { portOptions, reloadableParts, restartOnly, type Runtime } from './build.js';

/** A config that cannot be used: every problem, placed. */
export class SidecarConfigError extends Error {
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(`${file}: ${problems.filter((p) => p.severity === 'error').length} problem(s)`);
    this.name = 'SidecarConfigError';
  }
}

/** One problem as a line: `FILE:LINE:COL: error: PATH: message` (an editor jumps to it). */
export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line !== undefined ? `${file}:${p.line}:${p.col ?? 1}` : file;
  return `${where}: ${p.severity}: ${formatPath(p.path)}: ${p.message}`;
}

export type ReloadResult = { result: 'applied'; summary: string } | { result: 'unchanged' } | { result: 'refused'; reasons: string[] };

export interface Sidecar {
  port: InternalPort;
  address: string;
  /** The config in force. */
  readonly loaded: LoadedConfig;
  /**
   * Loads the file again and applies it, or refuses it (the running config
   * stays). quietIfRefusedBefore: the same bytes as the last refused file
   * are not checked and logged again (the file watcher's case).
   */
  reload(why: string, opts?: { quietIfRefusedBefore?: boolean }): Promise<ReloadResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  log: PortLog;
  env?: NodeJS.ProcessEnv;
  /** Reload when the config file changes (default true). */
  watch?: boolean;
}

export async function startSidecar(file: string, o: StartOptions): Promise<Sidecar> {
  const env = o.env ?? process.env;
  const { loaded: first, problems } = await loadConfig(file, env);
  for (const p of problems.filter((x) => x.severity === 'warning')) o.log('warn', formatProblem(file, p));
  if (!first) throw new SidecarConfigError(file, problems);
  let loaded = first;
  fs.mkdirSync(loaded.paths.dataDir, { recursive: true, mode: 0o700 });

  const metrics = new SidecarMetrics();
  const locks = new NamedLocks(loaded.paths.locksDir);
  const closers: Array<() => Promise<unknown>> = [];
  const rt: Runtime = { metrics, locks, log: o.log, migrator: undefined, migrationLock: undefined, flagStore: undefined, grantStore: undefined, notifyQueue: undefined };
  try {
    const pgUrls = loaded.postgres;
    const notifyUrl = loaded.notify?.postgresUrl;
    if (pgUrls.flags || pgUrls.grants || pgUrls.migrationsLock || notifyUrl) {
      // Only a config with a PostgreSQL store loads pg.
      const pgMod = await import('../../server/postgres/index.js');
      const pgLog = (level: 'info' | 'warn' | 'error', m: string) => o.log(level, m);
      if (pgUrls.flags) {
        const store = new pgMod.PostgresFlagStore({ connection: pgUrls.flags, log: pgLog });
        closers.push(() => store.close());
        await store.start();
        rt.flagStore = store;
      }
      if (pgUrls.grants) {
        const store = new pgMod.PostgresGrantStore({ connection: pgUrls.grants, log: pgLog });
        closers.push(() => store.close());
        await store.start();
        rt.grantStore = store;
      }
      if (notifyUrl) {
        const queue = new pgMod.PostgresNotifyQueue({ connection: notifyUrl, log: pgLog });
        closers.push(() => queue.close());
        await queue.start();
        rt.notifyQueue = queue;
      }
      if (pgUrls.migrationsLock) {
        const lock = new pgMod.PostgresMigrationLock({ connection: pgUrls.migrationsLock, log: pgLog });
        closers.push(() => lock.close());
        locks.useBackend('migrations', lock);
      }
    }
    if (loaded.migrations) {
      rt.migrator = new CommandMigrator(loaded.migrations, metrics);
      rt.migrationLock = locks.asMigrationLock('migrations');
    }
    metrics.reload('applied');
  } catch (e) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw e;
  }

  let port: InternalPort;
  try {
    port = await createInternalPort(portOptions(loaded, rt));
  } catch (e) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw e;
  }
  o.log('info', `opsctl-port for ${loaded.config.service.name} ${loaded.config.service.version}: ${loaded.endpoints.length} endpoint(s)${loaded.migrations ? ', migrations' : ''}, ${loaded.health.length} health check(s); config ${file} (sha256 ${loaded.hash.slice(0, 12)})`);

  // Reloads run one at a time; a change arriving meanwhile runs once after.
  let running: Promise<ReloadResult> | undefined;
  let again = false;
  // The bytes of the last refused file: the watcher does not refuse (and log) them again.
  let refusedHash: string | undefined;
  const reloadOnce = async (why: string, quietIfRefusedBefore: boolean): Promise<ReloadResult> => {
    if (quietIfRefusedBefore && refusedHash !== undefined) {
      try {
        if (createHash('sha256').update(fs.readFileSync(file)).digest('hex') === refusedHash) return { result: 'refused', reasons: ['refused before'] };
      } catch {
        // unreadable: loadConfig reports it
      }
    }
    const { loaded: next, problems: found } = await loadConfig(file, env);
    const refuse = (): void => {
      try {
        refusedHash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      } catch {
        refusedHash = undefined;
      }
      metrics.reload('refused');
    };
    if (!next) {
      const reasons = found.filter((p) => p.severity === 'error').map((p) => formatProblem(file, p));
      o.log('error', `reload (${why}) refused: the config has ${reasons.length} problem(s); the running config stays`);
      for (const r of reasons) o.log('error', `  ${r}`);
      refuse();
      return { result: 'refused', reasons };
    }
    if (next.hash === loaded.hash) {
      metrics.reload('unchanged');
      return { result: 'unchanged' };
    }
    const was = restartOnly(loaded.config);
    const now = restartOnly(next.config);
    const changed = Object.keys(now).filter((k) => now[k] !== was[k]);
    if (changed.length) {
      const reasons = [`${changed.join(', ')} changed: only endpoints, health, metrics and the migration commands reload; restart opsctl-port to apply the rest`];
      o.log('error', `reload (${why}) refused: ${reasons[0]}; the running config stays`);
      refuse();
      return { result: 'refused', reasons };
    }
    try {
      port.reconfigure(reloadableParts(next, rt));
    } catch (e) {
      const reasons = [(e as Error).message];
      o.log('error', `reload (${why}) refused: ${reasons[0]}; the running config stays`);
      refuse();
      return { result: 'refused', reasons };
    }
    if (next.migrations) rt.migrator?.setConfig(next.migrations);
    for (const p of found.filter((x) => x.severity === 'warning')) o.log('warn', formatProblem(file, p));
    const before = new Set(loaded.endpoints.map((e) => e.id));
    const after = new Set(next.endpoints.map((e) => e.id));
    const added = [...after].filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !after.has(id));
    const summary = `${next.endpoints.length} endpoint(s)${added.length ? `, added ${added.join(', ')}` : ''}${removed.length ? `, removed ${removed.join(', ')}` : ''}; sha256 ${next.hash.slice(0, 12)}`;
    loaded = next;
    refusedHash = undefined;
    metrics.reload('applied');
    o.log('info', `reload (${why}) applied: ${summary}`);
    return { result: 'applied', summary };
  };
  const reload = (why: string, opts: { quietIfRefusedBefore?: boolean } = {}): Promise<ReloadResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        let r = await reloadOnce(why, opts.quietIfRefusedBefore === true);
        while (again) {
          again = false;
          r = await reloadOnce(`${why}, changed again meanwhile`, true);
        }
        return r;
      } catch (e) {
        o.log('error', `reload (${why}) failed: ${(e as Error).message}; the running config stays`);
        metrics.reload('refused');
        return { result: 'refused' as const, reasons: [(e as Error).message] };
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  // Editors replace a file (write a temp, rename it over): watch the directory, debounce.
  let watcher: fs.FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  if (o.watch !== false) {
    const base = path.basename(file);
    try {
      watcher = fs.watch(path.dirname(path.resolve(file)), (_event, name) => {
        if (name !== null && name !== base) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => { void reload('the config file changed', { quietIfRefusedBefore: true }); }, 250);
      });
      watcher.on('error', (e) => o.log('warn', `watching ${file} failed (${e.message}); reload with SIGHUP`));
    } catch (e) {
      o.log('warn', `${file} cannot be watched (${(e as Error).message}); reload with SIGHUP`);
    }
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    address: port.address,
    get loaded() { return loaded; },
    reload,
    close: () => {
      closing ??= (async () => {
        watcher?.close();
        clearTimeout(debounce);
        await running?.catch(() => undefined);
        await port.close();
        for (const c of closers.reverse()) await c().catch(() => undefined);
      })();
      return closing;
    },
  };
}
