import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { tunnelSocketPath } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { OperationError } from '../../errors/operation-error.js';
import { ExitCode } from '../../../protocol/exit-codes.js';
import { watchInterrupt } from '../../jobs/interrupt.js';

export interface TunnelOptions {
  /** `127.0.0.1:PORT` / `[::1]:PORT` / `PORT`: also a loopback TCP forward to the internal port. */
  listen?: string;
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
    .addHelpText('after', '\nRuns until Ctrl-C. While it runs, commands for the same context skip every SSH handshake (they still sign each request).\nThe reuse socket is private (0600 in a 0700 directory); --listen binds loopback only.')
    .action(async (o: { listen?: string }) => run(f, o.listen !== undefined ? { listen: o.listen } : {}));
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
