import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { holderArgs, tunnelSocketPath } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { OperationError } from '../../errors/operation-error.js';
import { ExitCode } from '../../../protocol/exit-codes.js';
import { watchInterrupt, sleep } from '../../jobs/interrupt.js';
import type { Tunnel } from '../../transport/types.js';
import type { HolderInfo } from '../../transport/holder.js';

export interface TunnelOptions {
  /** `127.0.0.1:PORT` / `[::1]:PORT` / `PORT`: also a loopback TCP forward to the internal port. */
  listen?: string;
  /** Detach (like ssh -f): start a background holder, print where it listens, return. */
  background?: boolean;
  /** Stop the context's background holder. */
  stop?: boolean;
  /** Say whether a holder serves the context, and where. */
  status?: boolean;
  /** Internal: this process is the detached holder (reports on fd 3, reconnects, may exit when idle). */
  holder?: boolean;
  /** Internal, with holder: exit after this long without a local connection (ControlPersist). */
  idleExitMs?: number;
  /** Aborting it acts like Ctrl-C (tests). */
  interrupt?: AbortSignal;
  /** Called once serving, with where (tests). */
  onReady?: (where: { socket?: string; tcp?: string }) => void;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('tunnel')
    .description('Hold one connection to the current context open; later commands reuse it')
    .option('--listen <addr>', 'also forward a loopback TCP port to the internal port: 127.0.0.1:PORT (0 = any free port)')
    .option('--background', 'detach like ssh -f: print where the tunnel listens and return; it runs until --stop')
    .option('--status', 'say whether a tunnel holds the context open, and where')
    .option('--stop', 'stop the context\'s background tunnel')
    .addOption(new Option('--holder', 'internal: run as the detached holder').hideHelp())
    .addOption(new Option('--idle-exit <ms>', 'internal: exit after this long unused').argParser((v) => Number(v)).hideHelp())
    .addHelpText(
      'after',
      `
Runs until Ctrl-C, or in the background with --background (stop it with --stop).
While it runs, commands for the same context skip every SSH handshake (they
still sign each request). A background tunnel re-establishes a dropped SSH
connection on the next command; SSH keepalives (every 15 s) notice a dead one.
A context with \`persist: 10m\` starts such a tunnel by itself on the first
command and lets it exit after 10 minutes unused (like ControlPersist).
The reuse socket is private (0600 in a 0700 directory); --listen binds loopback only.`,
    )
    .action(async (o: { listen?: string; background?: boolean; status?: boolean; stop?: boolean; holder?: boolean; idleExit?: number }) => {
      const modes = [o.background, o.status, o.stop, o.holder].filter(Boolean).length;
      if (modes > 1) throw new UsageError('tunnel: --background, --status and --stop exclude each other');
      await run(f, {
        ...(o.listen !== undefined ? { listen: o.listen } : {}),
        ...(o.background ? { background: true } : {}),
        ...(o.status ? { status: true } : {}),
        ...(o.stop ? { stop: true } : {}),
        ...(o.holder ? { holder: true } : {}),
        ...(o.idleExit !== undefined && Number.isFinite(o.idleExit) && o.idleExit > 0 ? { idleExitMs: o.idleExit } : {}),
      });
    });
}

/** Parses `--listen`; loopback only, because anyone who can connect reaches the internal port. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen expects 127.0.0.1:PORT, got "${v}"`);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new UsageError(`--listen ${v}: the tunnel listens on loopback only (127.0.0.1 or ::1)`);
  return { host, port };
}

export async function run(f: Factory, opts: TunnelOptions): Promise<void> {
  if (opts.status) return status(f);
  if (opts.stop) return stop(f);
  if (opts.background) return background(f, opts);
  if (opts.holder) return hold(f, opts);
  return foreground(f, opts);
}

async function contextSocket(f: Factory, what: string): Promise<{ name: string; socketPath: string }> {
  const ctx = await f.context();
  if (!ctx.name) throw new UsageError(`tunnel ${what} needs a context (the tunnel is named after it): pass --context NAME`);
  return { name: ctx.name, socketPath: tunnelSocketPath(f.io.env, ctx.name) };
}

/** A live holder of the context, with what it recorded about itself. */
async function running(socketPath: string): Promise<HolderInfo | undefined> {
  const { tryReuseTunnel } = await import('../../transport/reuse.js');
  const { readHolderInfo, alive } = await import('../../transport/holder.js');
  const t = await tryReuseTunnel(socketPath);
  if (!t) return undefined;
  await t.close();
  const info = readHolderInfo(socketPath);
  // A foreground `opsctl tunnel` serves the socket without an info file.
  return info && alive(info.pid) ? info : { pid: 0, socket: socketPath, startedAt: '' };
}

async function status(f: Factory): Promise<void> {
  const { name, socketPath } = await contextSocket(f, '--status');
  const info = await running(socketPath);
  const out = await f.output();
  const doc = {
    context: name,
    running: Boolean(info),
    socket: socketPath,
    pid: info?.pid || null,
    listen: info?.listen ?? null,
    startedAt: info?.startedAt || null,
    idleExitSeconds: info?.idleExitMs ? Math.round(info.idleExitMs / 1000) : null,
  };
  // Like `ssh -O check`: no tunnel is exit 1, so a script can test for one.
  if (!info) {
    if (out.json) out.printJson(doc);
    throw new OperationError(`no tunnel holds context "${name}" open`);
  }
  out.emit(doc, () => {
    out.fields([
      ['context', name],
      ['socket', socketPath],
      ['pid', info.pid ? String(info.pid) : 'a foreground opsctl tunnel'],
      // A blank cell would read as "listening on nothing known": say there is no TCP forward.
      ['listen', info.listen ?? 'no TCP port (commands reach it through the socket; --listen adds one)'],
      ['started', info.startedAt],
      ['idle exit', info.idleExitMs ? `${Math.round(info.idleExitMs / 1000)} s after the last use (persist)` : 'never (stop it with opsctl tunnel --stop)'],
    ]);
  });
}

async function stop(f: Factory): Promise<void> {
  const { name, socketPath } = await contextSocket(f, '--stop');
  const info = await running(socketPath);
  const out = await f.output();
  if (!info) {
    out.emit({ context: name, stopped: false }, () => out.note(`no tunnel was running for context "${name}"`));
    return;
  }
  if (!info.pid) throw new OperationError(`the tunnel of context "${name}" runs in the foreground somewhere; stop it with Ctrl-C there`);
  process.kill(info.pid, 'SIGTERM');
  const { alive } = await import('../../transport/holder.js');
  for (let i = 0; i < 50 && alive(info.pid); i++) await sleep(100);
  if (alive(info.pid)) throw new OperationError(`the tunnel (pid ${info.pid}) did not stop within 5 s`);
  out.emit({ context: name, stopped: true, pid: info.pid }, () => out.success(`tunnel of context "${name}" stopped (pid ${info.pid})`));
}

async function background(f: Factory, opts: TunnelOptions): Promise<void> {
  const listen = opts.listen !== undefined ? parseListen(opts.listen) : undefined;
  const { name, socketPath } = await contextSocket(f, '--background');
  if (await running(socketPath)) throw new OperationError(`a tunnel for context "${name}" is already open (${socketPath}); opsctl tunnel --status shows it, --stop stops it`);
  const { spawnHolder } = await import('../../transport/holder.js');
  const fs = await import('node:fs');
  const g = f.globals();
  const info = await spawnHolder({
    script: process.argv[1] ? fs.realpathSync(process.argv[1]) : '',
    args: holderArgs(g, name, listen ? ['--listen', `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`] : []),
    env: f.io.env,
    socketPath,
    waitMs: g.timeout * 1000 + 5000,
  });
  const out = await f.output();
  out.emit({ context: name, pid: info.pid, socket: info.socket, listen: info.listen ?? null }, () => {
    out.success(`tunnel for context "${name}" runs in the background (pid ${info.pid})`);
    out.note(`reuse socket ${info.socket}: commands for context "${name}" now go through it`);
    if (info.listen) out.note(`listening on ${info.listen}: a raw forward to the internal port (every request must still be signed)`);
    out.note('opsctl tunnel --status shows it; opsctl tunnel --stop stops it.');
  });
}

/**
 * The detached holder: serves the socket, reconnects a dropped SSH
 * connection on the next local connection, reports to the parent on fd 3,
 * and with idleExitMs exits once unused that long.
 */
async function hold(f: Factory, opts: TunnelOptions): Promise<void> {
  const { reportToParent, writeHolderInfo, removeHolderInfo } = await import('../../transport/holder.js');
  const { serveTunnel } = await import('../../transport/reuse.js');
  let served: Awaited<ReturnType<typeof serveTunnel>>[] = [];
  let current: Promise<Tunnel> | undefined;
  let socketPath = '';
  try {
    const listen = opts.listen !== undefined ? parseListen(opts.listen) : undefined;
    ({ socketPath } = await contextSocket(f, '--holder'));
    const first = await f.connect();
    current = Promise.resolve(first);
    const watch = (t: Tunnel) => void t.closed?.then(() => {
      f.debug('tunnel: the SSH connection is gone; the next command reconnects');
      current = undefined;
    });
    watch(first);
    // Connect again on demand; one attempt at a time, shared by all waiting commands.
    const source = (): Promise<Tunnel> => {
      current ??= f.connect().then(
        (t) => {
          watch(t);
          return t;
        },
        (e: unknown) => {
          current = undefined;
          throw e;
        },
      );
      return current;
    };
    served.push(await serveTunnel(source, { socketPath }));
    if (listen) served.push(await serveTunnel(source, listen));
    const info: HolderInfo = {
      pid: process.pid,
      socket: served[0]!.address,
      ...(listen ? { listen: served[1]!.address } : {}),
      startedAt: new Date().toISOString(),
      ...(opts.idleExitMs ? { idleExitMs: opts.idleExitMs } : {}),
    };
    writeHolderInfo(info);
    reportToParent({ ok: true, ...info });
  } catch (e) {
    await Promise.all(served.map((s) => s.close()));
    const { reportError } = await import('../../errors/exit-code.js');
    const r = reportError(e);
    reportToParent({ ok: false, name: (e as Error).name ?? 'Error', message: r.message, ...(r.hint ? { hint: r.hint } : {}) });
    throw e;
  }

  let onStop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    onStop = () => resolve();
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
    process.once('SIGHUP', onStop);
  });
  let idle: NodeJS.Timeout | undefined;
  if (opts.idleExitMs) {
    const limit = opts.idleExitMs;
    idle = setInterval(() => {
      const busy = served.some((s) => s.activeConnections > 0);
      const last = Math.max(...served.map((s) => s.lastActivity));
      if (!busy && Date.now() - last >= limit) onStop();
    }, Math.min(5000, Math.max(200, limit / 4)));
  }
  try {
    await stopped;
  } finally {
    if (idle) clearInterval(idle);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onStop);
    await Promise.all(served.map((s) => s.close()));
    served = [];
    removeHolderInfo(socketPath, process.pid);
    const t = await current?.catch(() => undefined);
    await t?.close().catch(() => undefined);
  }
}

async function foreground(f: Factory, opts: TunnelOptions): Promise<void> {
  const listen = opts.listen !== undefined ? parseListen(opts.listen) : undefined;
  const ctx = await f.context();
  if (!ctx.name && !listen) throw new UsageError('tunnel needs a context (its socket is named after it): pass --context NAME, or --listen 127.0.0.1:PORT for a plain TCP forward');
  const { serveTunnel, tryReuseTunnel } = await import('../../transport/reuse.js');
  const socketPath = ctx.name ? tunnelSocketPath(f.io.env, ctx.name) : undefined;
  if (socketPath) {
    const running = await tryReuseTunnel(socketPath);
    if (running) {
      await running.close();
      throw new OperationError(`a tunnel for context "${ctx.name}" is already open (${socketPath}); commands reuse it — stop it with Ctrl-C where it runs`);
    }
  }
  const tunnel = await f.tunnel();
  const log = (m: string) => f.debug(m);
  const served = [];
  try {
    if (socketPath) served.push(await serveTunnel(tunnel, { socketPath }, { log }));
    if (listen) served.push(await serveTunnel(tunnel, listen, { log }));
  } catch (e) {
    await Promise.all(served.map((s) => s.close()));
    throw e;
  }
  const socket = socketPath ? served[0]!.address : undefined;
  const tcp = listen ? served[served.length - 1]!.address : undefined;
  const out = await f.output();
  const target = [...ctx.bastions, ctx.hosts[0]].join(' → ');
  out.emit({ context: ctx.name ?? null, target, internalPort: ctx.port, socket: socket ?? null, listen: tcp ?? null, hops: tunnel.hops.map((h) => ({ kind: h.kind, name: h.hop.name, ms: h.ms })) }, () => {
    out.success(`tunnel open: ${target} → 127.0.0.1:${ctx.port}${tunnel.hops.length ? ` (${tunnel.hops.map((h) => `${h.hop.name} ${h.ms} ms`).join(', ')})` : ''}`);
    if (socket) out.note(`reuse socket ${socket}: commands for context "${ctx.name}" now go through it`);
    if (tcp) out.note(`listening on ${tcp}: a raw forward to the internal port (every request must still be signed)`);
    out.note('Ctrl-C closes it.');
  });
  opts.onReady?.({ ...(socket ? { socket } : {}), ...(tcp ? { tcp } : {}) });

  const interrupt = watchInterrupt(opts.interrupt);
  let onStop: () => void = () => {};
  const stopped = Promise.race(served.map((s) => s.stopped)).then(() => 'dead' as const);
  // SIGTERM (systemd, kill) closes as cleanly as Ctrl-C: the socket file goes away.
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onStop = () => resolve('interrupted');
    interrupt.signal.addEventListener('abort', onStop, { once: true });
    process.once('SIGTERM', onStop);
  });
  let why: 'dead' | 'interrupted';
  try {
    why = await Promise.race([stopped, interrupted]);
  } finally {
    interrupt.dispose();
    process.off('SIGTERM', onStop);
    await Promise.all(served.map((s) => s.close()));
  }
  if (why === 'dead') throw new OperationError('the connection behind the tunnel is gone; start opsctl tunnel again', ExitCode.CONNECTION);
  out.note('tunnel closed');
}
