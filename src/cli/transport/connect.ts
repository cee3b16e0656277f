import type { Identity } from '../identity/types.js';
import type { HostKeyPrompt, Tunnel, TunnelTarget } from './types.js';
import { HostKeyVerifier } from './host-key-verifier.js';
import { HttpTunnel } from './http-tunnel.js';
import { SshChain } from './ssh-chain.js';
import { ConnectBudget } from './connect-budget.js';
import { HopSpinner } from './hop-spinner.js';
import type { Writable } from 'node:stream';

export interface OpenTunnelOptions {
  /** Asks about an unknown host key; pass it only when stdin/stderr are a TTY. */
  promptHostKey?: HostKeyPrompt;
  /** -v diagnostics (never secrets). */
  log?: (msg: string) => void;
  /** Things the operator should see even without -v (e.g. a host key that could not be recorded). */
  warn?: (msg: string) => void;
  /** What the operator should know happened (a host key recorded by --accept-host-key). */
  note?: (msg: string) => void;
  /** Host key fingerprints checked out of band: unknown keys with one of them are recorded (doctor --accept-host-key). */
  acceptHostKeys?: string[];
  /** SSH keepalive interval, default 15 s. */
  keepaliveIntervalMs?: number;
  /** Show a spinner naming the hop being connected on this terminal stream (after 300 ms). */
  spinner?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Connects bastion by bastion to the service host's sshd and returns a
 * Tunnel whose HTTP runs over direct-tcpip channels to the internal port.
 * The whole connect (every hop) must finish within target.timeoutMs, not
 * counting time spent answering a host-key question. Throws ConnectionError
 * or HostKeyError naming the failing hop. No local port is opened; the
 * internal port is first touched by the first request (or openChannel).
 */
export async function openTunnel(target: TunnelTarget, identity: Identity, opts: OpenTunnelOptions = {}): Promise<Tunnel> {
  const verifier = await HostKeyVerifier.load({
    files: target.knownHostsFiles,
    ...(opts.promptHostKey ? { prompt: opts.promptHostKey } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
    ...(opts.note ? { note: opts.note } : {}),
    ...(opts.acceptHostKeys?.length ? { accept: opts.acceptHostKeys } : {}),
  });
  const budget = new ConnectBudget(target.timeoutMs);
  const spinner = opts.spinner ? new HopSpinner(opts.spinner as unknown as Writable) : undefined;
  try {
    return await connectRoute(target, identity, opts, verifier, budget, spinner);
  } finally {
    spinner?.stop();
  }
}

async function connectRoute(
  target: TunnelTarget,
  identity: Identity,
  opts: OpenTunnelOptions,
  verifier: HostKeyVerifier,
  budget: ConnectBudget,
  spinner: HopSpinner | undefined,
): Promise<Tunnel> {
  const chainOpts = {
    ...(spinner ? { progress: spinner } : {}),
    identity,
    verifier,
    timeoutMs: target.timeoutMs,
    ...(opts.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: opts.keepaliveIntervalMs } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  };
  const chain = await SshChain.connect(target.bastions, { ...chainOpts, budget });
  let host;
  try {
    host = await chain.connectHost(target.host, { budget });
  } catch (e) {
    await chain.close();
    throw e;
  }
  const internalHost = target.internalHost ?? '127.0.0.1';
  const conn = host;
  return new HttpTunnel({
    open: () => conn.openChannel(internalHost, target.internalPort),
    hops: [...chain.hops, conn.timing],
    internalHost,
    internalPort: target.internalPort,
    via: `host "${target.host.name}"`,
    close: () => chain.close(),
    closed: Promise.race([conn.closed, ...chain.bastions.map((b) => b.closed)]),
    isOpen: () => conn.isOpen && chain.isOpen,
    limits: { timeoutMs: target.timeoutMs, ...(target.maxResponseBytes ? { maxBytes: target.maxResponseBytes } : {}) },
  });
}
