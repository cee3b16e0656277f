import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Client, ConnectConfig } from 'ssh2';
import type { Identity } from '../identity/types.js';
import type { Hop, HopTiming } from './types.js';
import type { ConnectBudget } from './connect-budget.js';
import { ConnectionError } from './connection-error.js';
import { HostKeyError } from './host-key-error.js';
import type { HostKeyVerifier } from './host-key-verifier.js';
import { identityAgent } from './identity-agent.js';
import { loadSsh2 } from './load-ssh2.js';

export interface HopConnectOptions {
  identity: Identity;
  verifier: HostKeyVerifier;
  budget: ConnectBudget;
  /** SSH keepalive interval (default 15 s; 3 unanswered ones drop the connection). */
  keepaliveIntervalMs?: number;
  log?: (msg: string) => void;
  /** Called as each hop starts connecting, and around a host-key question (feedback on a terminal). */
  progress?: { hop(hop: Hop, kind: 'bastion' | 'host'): void; pause(): void; resume(): void };
}

type HopKind = 'bastion' | 'host';

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
const addr = (hop: Hop) => (hop.host.includes(':') ? `[${hop.host}]:${hop.port}` : `${hop.host}:${hop.port}`);
// sshd often gives no text for a refused channel (OpenSSH: "connect failed"
// carries only reason code 2), which used to leave a message ending in ": ".
const channelReason = (err: Error) => {
  const text = err.message.replace(/^\(SSH\) Channel open failure:\s*/, '').trim();
  if (text) return text;
  const code = (err as Error & { reason?: unknown }).reason;
  return code === 2 ? 'nothing accepts connections there (connect failed)' : code === 4 ? 'the server is short of resources' : 'no reason given';
};

/**
 * One authenticated SSH connection (a bastion or a service host). It can
 * carry any number of direct-tcpip channels at once: to the next hop's sshd
 * (nested connections, several hosts through one bastion) or to the
 * internal port.
 */
export class SshConnection {
  readonly hop: Hop;
  readonly kind: HopKind;
  /** Time from the start of this hop to authenticated. */
  readonly ms: number;
  /** Resolves when the connection is gone (closed by us, the server, or the network). */
  readonly closed: Promise<void>;
  private readonly client: Client;
  private open = true;
  private closing = false;
  private lastError: string | undefined;

  /** @internal built by connectHop */
  constructor(hop: Hop, kind: HopKind, client: Client, ms: number, log?: (msg: string) => void) {
    this.hop = hop;
    this.kind = kind;
    this.client = client;
    this.ms = ms;
    this.closed = new Promise((resolve) => {
      client.on('close', () => {
        if (!this.closing) log?.(`ssh: connection to ${kind} "${hop.name}" closed${this.lastError ? `: ${this.lastError}` : ''}`);
        this.open = false;
        resolve();
      });
    });
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('end', () => {
      if (!this.closing) this.lastError ??= 'the server side ended it';
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  get timing(): HopTiming {
    return { hop: this.hop, kind: this.kind, ms: this.ms };
  }

  private forward(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (!this.open) return reject(new Error('the SSH connection is closed'));
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
      } catch (e) {
        reject(e as Error);
      }
    });
  }

  /**
   * A direct-tcpip channel to host:port as seen from this SSH server, e.g.
   * 127.0.0.1:9900 (the internal port). Failures name the port and this hop.
   */
  async openChannel(host: string, port: number): Promise<Duplex> {
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    try {
      return await this.forward(host, port);
    } catch (e) {
      const err = e as Error & { reason?: number };
      if (!this.open) {
        throw new ConnectionError(`connection to ${this.kind} "${this.hop.name}" was lost${this.lastError ? ` (${this.lastError})` : ''}; cannot open a channel to ${target}`, {
          hop: this.hop.name,
          kind: this.kind,
          reason: 'closed',
          causeMessage: this.lastError ?? err.message,
        });
      }
      if (err.reason === 1) {
        throw new ConnectionError(
          `${this.kind} "${this.hop.name}" does not allow forwarding to ${target} (administratively prohibited: check AllowTcpForwarding / PermitOpen)`,
          { hop: target, kind: 'internal-port', reason: 'channel-prohibited', causeMessage: channelReason(err) },
        );
      }
      throw new ConnectionError(
        `internal port ${target} on ${this.kind} "${this.hop.name}" refused the channel (is the service running?): ${channelReason(err)}`,
        { hop: target, kind: 'internal-port', reason: 'channel-refused', causeMessage: channelReason(err) },
      );
    }
  }

  /** A channel to the next hop's sshd; failures name that hop. */
  async forwardTo(next: Hop, nextKind: HopKind): Promise<Duplex> {
    try {
      return await this.forward(next.host, next.port);
    } catch (e) {
      const why = this.open ? channelReason(e as Error) : `connection to ${this.kind} "${this.hop.name}" was lost`;
      throw new ConnectionError(`cannot reach ${nextKind} "${next.name}" (${addr(next)}) from ${this.kind} "${this.hop.name}": ${why}`, {
        hop: next.name,
        kind: nextKind,
        reason: this.open ? 'unreachable' : 'closed',
        causeMessage: why,
      });
    }
  }

  /** Ends the connection (and every channel on it). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.open) this.client.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000).unref())]);
    this.open = false;
  }
}

/**
 * Connects and authenticates one hop, directly (a TCP socket with noDelay)
 * or through `via` (a channel on the previous hop). Publickey only, with
 * the identity; host key checked by the verifier; bounded by the budget.
 */
export async function connectHop(hop: Hop, kind: HopKind, via: SshConnection | undefined, opts: HopConnectOptions): Promise<SshConnection> {
  const ssh2 = await loadSsh2();
  const { budget, identity, verifier, log } = opts;
  const where = `${kind} "${hop.name}" (${addr(hop)})`;
  const started = performance.now();
  // Time spent waiting for the operator's answer to a host-key question is
  // not the hop's: it is left out of the time doctor and -v report.
  let askedMs = 0;
  let askingSince: number | undefined;
  log?.(`ssh: connecting to ${where}${via ? ` through ${via.kind} "${via.hop.name}"` : ''}`);
  opts.progress?.hop(hop, kind);

  return new Promise<SshConnection>((resolve, reject) => {
    const client = new ssh2.Client();
    let sock: Duplex | undefined;
    let settled = false;
    let hostKeyError: HostKeyError | undefined;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!err) {
        const ms = Math.round(performance.now() - started - askedMs);
        log?.(`ssh: ${where} authenticated as "${hop.user}" in ${ms} ms`);
        resolve(new SshConnection(hop, kind, client, ms, log));
        return;
      }
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.end();
      sock?.destroy();
      reject(err);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish(
          new ConnectionError(`timed out after ${seconds(budget.totalMs)} connecting to ${where}`, {
            hop: hop.name,
            kind,
            reason: 'timeout',
            causeMessage: 'timeout',
          }),
        );
      }, budget.remaining());
    };
    arm();

    const mapError = (err: Error & { level?: string }): Error => {
      if (hostKeyError) return hostKeyError;
      const details = { hop: hop.name, kind, causeMessage: err.message };
      switch (err.level) {
        case 'client-authentication':
          return new ConnectionError(`${kind} "${hop.name}" rejected key ${identity.keyid} for user "${hop.user}"`, { ...details, reason: 'auth' });
        case 'client-timeout':
          return new ConnectionError(`timed out after ${seconds(budget.totalMs)} connecting to ${where}`, { ...details, reason: 'timeout' });
        case 'client-socket':
          return new ConnectionError(`cannot reach ${where}: ${err.message}`, { ...details, reason: 'unreachable' });
      }
      if (/before handshake/i.test(err.message)) {
        return new ConnectionError(`cannot reach ${where}: the connection closed before the SSH handshake (is an sshd listening there?)`, {
          ...details,
          reason: 'closed',
        });
      }
      return new ConnectionError(`SSH connection to ${where} failed: ${err.message}`, { ...details, reason: 'unreachable' });
    };

    const start = (s: Duplex) => {
      if (settled) {
        s.destroy();
        return;
      }
      sock = s;
      // Through a bastion the socket is a channel on it, which stays
      // half-open when the far sshd dies: the bastion sends EOF but no close
      // until our side ends too, and ssh2 stops its keepalives at 'end' (and
      // will not destroy a socket whose reading side ended). Nothing can
      // arrive after 'end', so close the channel now: the connection and
      // every channel on it then fail at once instead of going silent until
      // --timeout (README, "Long work": a dead SSH connection exits 5 at once).
      s.once('end', () => s.destroy());
      client
        .on('ready', () => finish(undefined))
        .on('error', (err) => finish(mapError(err)))
        .on('close', () => {
          finish(
            hostKeyError ??
              new ConnectionError(`cannot reach ${where}: the connection closed during the SSH handshake`, {
                hop: hop.name,
                kind,
                reason: 'closed',
                causeMessage: 'closed',
              }),
          );
        });

      let tried = false;
      const algorithms = verifier.preferredAlgorithms(hop);
      const config: ConnectConfig = {
        sock: s,
        username: hop.user,
        // Our own timer (above) replaces readyTimeout: it also covers the TCP
        // connect and the channel through the previous hop, and pauses while
        // the operator answers a host-key question.
        readyTimeout: 0,
        keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          verifier
            .verify(hop, kind, key, (asking) => {
              if (asking) {
                askingSince = performance.now();
                clearTimeout(timer);
                budget.pause();
                opts.progress?.pause();
              } else {
                if (askingSince !== undefined) askedMs += performance.now() - askingSince;
                askingSince = undefined;
                opts.progress?.resume();
                budget.resume();
                arm();
              }
            }, !via)
            .then(
              () => verify(true),
              (e: Error) => {
                hostKeyError = e instanceof HostKeyError ? e : undefined;
                if (!hostKeyError) log?.(`ssh: host key check failed: ${e.message}`);
                verify(false);
                if (e instanceof HostKeyError) finish(e);
              },
            );
        },
        // Publickey only, and no `none` probe first: one round trip less per hop.
        authHandler: (_left, _partial, next) => {
          if (tried) return next(false as never);
          tried = true;
          next({ type: 'agent', username: hop.user, agent: identityAgent(ssh2, identity) });
        },
      };
      if (algorithms) config.algorithms = { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
      client.connect(config);
    };

    if (via) {
      via.forwardTo(hop, kind).then(start, (e: Error) => finish(e));
    } else {
      const s = net.connect({ host: hop.host, port: hop.port, noDelay: true });
      start(s);
    }
  });
}
