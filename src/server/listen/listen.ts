import fs from 'node:fs';
import net from 'node:net';
import dns from 'node:dns/promises';
import type { Server } from 'node:http';
import { InternalPortConfigError } from '../config-error.js';
import { isLoopbackHost } from './loopback.js';

export interface ListenTarget {
  host?: string | undefined;
  port?: number | undefined;
  socketPath?: string | undefined;
  allowNonLoopback?: boolean | undefined;
  /** Mode of a unix socket (default 0o600); only 0o600 and 0o660 are accepted: never other users. */
  socketMode?: number | undefined;
  /** What listens, as refusals name it (default "the internal port"). */
  what?: string | undefined;
  /** False for a listener that can never leave loopback (the OFREP listener): refusals then do not suggest allowNonLoopback. */
  overridable?: boolean | undefined;
}

export interface BoundAddress {
  address: string;
  host: string | undefined;
  port: number | undefined;
}

/** Refuses a bind target that is not loopback (unless explicitly allowed). */
export function checkListenTarget(target: ListenTarget): void {
  if (target.socketPath !== undefined) {
    if (target.host !== undefined || target.port !== undefined) {
      throw new InternalPortConfigError('give either socketPath or host/port, not both');
    }
    if (target.socketMode !== undefined && target.socketMode !== 0o600 && target.socketMode !== 0o660) {
      throw new InternalPortConfigError(`the mode of ${target.socketPath} must be 0600 or 0660`);
    }
    return;
  }
  const host = target.host ?? '127.0.0.1';
  // A name is resolved by resolveListenHost before the bind; here only
  // address literals can be judged.
  if (net.isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0 && !isLoopbackHost(host) && !target.allowNonLoopback) {
    refuse(target, host, 'it must listen on loopback only');
  }
  const port = target.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InternalPortConfigError(`invalid port ${String(target.port)}`);
}

const RESOLVE_TIMEOUT_MS = 5000;

function refuse(target: ListenTarget, host: string, why: string): never {
  const only = 'it must listen on loopback only';
  throw new InternalPortConfigError(
    `refusing to bind ${target.what ?? 'the internal port'} to ${host}: ${why === only ? '' : `${why}; `}${only} (127.0.0.1, ::1 or a unix socket)${target.overridable === false ? '' : '; set allowNonLoopback to override'}`,
  );
}

/**
 * The address to bind for a target host. An address literal is itself. A
 * name (`localhost` too) is resolved, and accepted only when every address
 * it resolves to is loopback; the listener then binds that address, not the
 * name, so a later change of /etc/hosts or DNS cannot move it.
 */
export async function resolveListenHost(target: ListenTarget): Promise<string | undefined> {
  if (target.socketPath !== undefined) return undefined;
  const host = target.host ?? '127.0.0.1';
  const literal = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(literal) !== 0) return literal;
  let timer: NodeJS.Timeout | undefined;
  let addrs: Array<{ address: string }>;
  try {
    addrs = await Promise.race([
      dns.lookup(host, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${RESOLVE_TIMEOUT_MS} ms`)), RESOLVE_TIMEOUT_MS); }),
    ]);
  } catch (e) {
    if (target.allowNonLoopback) return host;
    return refuse(target, host, `the name cannot be resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (addrs.length === 0) return refuse(target, host, 'the name resolves to no address');
  const outside = addrs.filter((a) => !isLoopbackHost(a.address));
  if (outside.length && !target.allowNonLoopback) return refuse(target, host, `it resolves to ${outside.map((a) => a.address).join(', ')}, which is not loopback`);
  return addrs[0]!.address;
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new InternalPortConfigError(`${socketPath} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new InternalPortConfigError(`${socketPath} is in use by a running server`);
  fs.unlinkSync(socketPath);
}

function listenOnce(server: Server, args: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => { server.off('listening', onListening); reject(e); };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(args);
  });
}

/**
 * Binds the server: loopback TCP by default, or a unix socket created 0600
 * (the umask is narrowed around bind() so the socket is never reachable by
 * others, not even for a moment), then given its socketMode (0660 opens it
 * to the group only after it exists). A socket file left by a crashed
 * process is replaced; a live one, or a file that is not a socket, is not.
 */
export async function listenInternal(server: Server, target: ListenTarget): Promise<BoundAddress> {
  checkListenTarget(target);
  if (target.socketPath !== undefined) {
    const socketPath = target.socketPath;
    await removeStaleSocket(socketPath);
    const old = process.umask(0o177);
    let pending: Promise<void>;
    try {
      pending = listenOnce(server, { path: socketPath });
    } finally {
      process.umask(old);
    }
    await pending;
    fs.chmodSync(socketPath, target.socketMode ?? 0o600);
    return { address: socketPath, host: undefined, port: undefined };
  }
  const host = target.host ?? '127.0.0.1';
  await listenOnce(server, { host, port: target.port ?? 0 });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('server has no TCP address');
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { address: `${shownHost}:${addr.port}`, host: addr.address, port: addr.port };
}
