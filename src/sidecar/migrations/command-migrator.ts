/**
 * The migrations plugin's MigratorLike over a migration tool's commands
 * (alembic, sqitch, rails …; docs/sidecar.md, "Migrations"): the status
 * command's output is the ordered list with applied and pending, up and
 * down run to an explicit {target}. The plugin does the rest exactly as for
 * umzug: the plan and its hash (412 when it moved), the lock (409), the job
 * and its stream (here: the command's output lines).
 */
import { ProblemError } from '../../protocol/index.js';
import type { MigrationJob, MigrationMeta, MigratorLike } from '../../server/options.js';
import { commandArgs, commandEnv, endedAs, runCommand, type PreparedCommand } from '../adaptors/command.js';
import { upstreamError } from '../adaptors/upstream-errors.js';
import type { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import type { MigrationState, StatusParser } from './parse-status.js';

export interface PreparedMigrations {
  status: PreparedCommand;
  parser: StatusParser;
  up: PreparedCommand;
  down: PreparedCommand;
  base: string;
  progress: { up: RegExp | undefined; down: RegExp | undefined };
}

type MigrationEvent = 'migrating' | 'migrated' | 'reverting' | 'reverted';
type Listener = (ev: { name: string }) => void;

export class CommandMigrator implements MigratorLike {
  private inflight: Promise<MigrationState[]> | undefined;
  private readonly listeners = new Map<MigrationEvent, Set<Listener>>();

  constructor(private cfg: PreparedMigrations, private readonly metrics: SidecarMetrics) {}

  /** A reloaded config's commands; a migration already running keeps the ones it started with. */
  setConfig(cfg: PreparedMigrations): void {
    this.cfg = cfg;
  }

  on(event: MigrationEvent, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off(event: MigrationEvent, listener: Listener): void {
    this.listeners.get(event)?.delete(listener);
  }

  private emit(event: MigrationEvent, name: string): void {
    for (const l of this.listeners.get(event) ?? []) l({ name });
  }

  /** The status command's list; calls made while one runs share its answer (status asks for executed and pending at once). */
  private status(): Promise<MigrationState[]> {
    this.inflight ??= this.readStatus().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  private async readStatus(): Promise<MigrationState[]> {
    const cfg = this.cfg;
    return this.metrics.time('migrations.status', 'exec', async () => {
      const r = await runCommand(cfg.status, { args: commandArgs(cfg.status, {}), env: commandEnv(cfg.status, {}), timeoutMs: cfg.status.timeoutMs }, 'migrations status');
      if (r.timedOut) throw new ProblemError('upstream.timeout', `migrations status: the status command ran longer than ${cfg.status.timeoutMs / 1000} s`);
      if (r.exitCode !== 0) throw upstreamError('migrations status', `the status command ${endedAs(r)}`, r.tail.join('\n'), { exitCode: r.exitCode });
      try {
        const list = cfg.parser.parse(r.stdout);
        const seen = new Set<string>();
        for (const m of list) {
          if (seen.has(m.name)) throw new Error(`migration ${m.name} is listed twice`);
          seen.add(m.name);
        }
        return list;
      } catch (e) {
        throw upstreamError('migrations status', `the status output cannot be read (${(e as Error).message})`, r.stdout);
      }
    });
  }

  async executed(): Promise<MigrationMeta[]> {
    return (await this.status()).filter((m) => m.applied).map((m) => ({ name: m.name }));
  }

  async pending(): Promise<MigrationMeta[]> {
    return (await this.status()).filter((m) => !m.applied).map((m) => ({ name: m.name }));
  }

  async up(options: { to?: string } = {}, job?: MigrationJob): Promise<MigrationMeta[]> {
    const pending = (await this.status()).filter((m) => !m.applied).map((m) => m.name);
    if (!pending.length) return [];
    const to = options.to ?? pending[pending.length - 1]!;
    const i = pending.indexOf(to);
    if (i < 0) throw new ProblemError('request.invalid', `no pending migration named "${to}"`, { field: 'to' });
    return this.run('up', to, pending.slice(0, i + 1), job);
  }

  async down(options: { to?: string | 0 } = {}, job?: MigrationJob): Promise<MigrationMeta[]> {
    const applied = (await this.status()).filter((m) => m.applied).map((m) => m.name);
    if (!applied.length) return [];
    // umzug's meaning: revert `to` and everything after it (0: everything).
    const from = options.to === 0 || options.to === undefined ? 0 : applied.indexOf(options.to);
    if (from < 0) throw new ProblemError('request.invalid', `no applied migration named "${String(options.to)}"`, { field: 'to' });
    const target = from === 0 ? this.cfg.base : applied[from - 1]!;
    return this.run('down', target, applied.slice(from).reverse(), job);
  }

  private async run(direction: 'up' | 'down', target: string, planned: string[], job: MigrationJob | undefined): Promise<MigrationMeta[]> {
    const cfg = this.cfg;
    const cmd = direction === 'up' ? cfg.up : cfg.down;
    const [start, end]: [MigrationEvent, MigrationEvent] = direction === 'up' ? ['migrating', 'migrated'] : ['reverting', 'reverted'];
    const progress = cfg.progress[direction];
    let current: string | undefined;
    const reported = new Set<string>();
    const args = commandArgs(cmd, {}, { extra: { target } });
    job?.log(`running ${[cmd.argv0, ...args].join(' ')}`);
    // A migration is not stopped half-way by a cancel (as with umzug, the
    // step finishes); only the command's timeout stops it.
    const r = await this.metrics.time(`migrations.${direction}`, 'exec', () => runCommand(cmd, {
      args,
      env: commandEnv(cmd, {}),
      timeoutMs: cmd.timeoutMs,
      onLine: (line) => {
        job?.log(line);
        const m = progress?.exec(line);
        const name = m?.groups?.name;
        if (!name || !planned.includes(name) || reported.has(name)) return;
        if (current) this.emit(end, current);
        reported.add(name);
        current = name;
        this.emit(start, name);
      },
    }, `migrations ${direction}`));
    job?.auditResult?.({ exitCode: r.exitCode, signal: r.signal, target });
    if (r.timedOut) throw new ProblemError('upstream.timeout', `migrations ${direction}: the command ran longer than ${cmd.timeoutMs / 1000} s and was stopped`);
    if (r.exitCode !== 0) throw upstreamError(`migrations ${direction}`, `the ${direction} command ${endedAs(r)}`, r.tail.join('\n'), { exitCode: r.exitCode });
    if (current) this.emit(end, current);
    const after = await this.status();
    const appliedNow = new Set(after.filter((m) => m.applied).map((m) => m.name));
    const done = planned.filter((n) => (direction === 'up' ? appliedNow.has(n) : !appliedNow.has(n)));
    // Without a progress pattern the steps are known only now: report them in order.
    for (const n of done) {
      if (reported.has(n)) continue;
      this.emit(start, n);
      this.emit(end, n);
    }
    if (done.length !== planned.length) {
      const missing = planned.filter((n) => !done.includes(n));
      throw new ProblemError('upstream.error', `migrations ${direction}: the command exited 0 but ${missing.join(', ')} ${direction === 'up' ? 'is still pending' : 'is still applied'} (the status command disagrees)`);
    }
    return done.map((name) => ({ name }));
  }
}
