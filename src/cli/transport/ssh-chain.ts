import type { Identity } from '../identity/types.js';
import type { Hop, HopTiming } from './types.js';
import type { HostKeyVerifier } from './host-key-verifier.js';
import { ConnectBudget } from './connect-budget.js';
import { connectHop, type HopConnectOptions, type SshConnection } from './ssh-connection.js';

export interface SshChainOptions {
  identity: Identity;
  verifier: HostKeyVerifier;
  /** Budget for connecting the bastions (and, by default, each host). */
  timeoutMs: number;
  keepaliveIntervalMs?: number;
  log?: (msg: string) => void;
  progress?: HopConnectOptions['progress'];
}

/**
 * The bastion part of a route, connected once: bastion 1, then bastion 2
 * through a channel on bastion 1, and so on. Any number of service hosts
 * can then be reached through the last bastion at the same time (fleet
 * fan-out), each host connection carrying any number of channels.
 */
export class SshChain {
  readonly bastions: SshConnection[];
  private readonly opts: SshChainOptions;
  private readonly hosts = new Set<SshConnection>();

  private constructor(bastions: SshConnection[], opts: SshChainOptions) {
    this.bastions = bastions;
    this.opts = opts;
  }

  /** Connects every bastion in order; on failure, closes what was opened and throws (ConnectionError or HostKeyError). */
  static async connect(bastions: Hop[], opts: SshChainOptions & { budget?: ConnectBudget }): Promise<SshChain> {
    const budget = opts.budget ?? new ConnectBudget(opts.timeoutMs);
    const open: SshConnection[] = [];
    try {
      for (const hop of bastions) {
        open.push(await connectHop(hop, 'bastion', open.at(-1), { ...opts, budget }));
      }
    } catch (e) {
      await Promise.all(open.reverse().map((c) => c.close()));
      throw e;
    }
    return new SshChain(open, opts);
  }

  /** Hop timings of the bastions. */
  get hops(): HopTiming[] {
    return this.bastions.map((b) => b.timing);
  }

  /** Whether every bastion connection is still up. */
  get isOpen(): boolean {
    return this.bastions.every((b) => b.isOpen);
  }

  /**
   * Connects a service host's sshd through the last bastion (directly when
   * there is none). Can be called many times, also in parallel.
   */
  async connectHost(hop: Hop, opts: { budget?: ConnectBudget } = {}): Promise<SshConnection> {
    const budget = opts.budget ?? new ConnectBudget(this.opts.timeoutMs);
    const conn = await connectHop(hop, 'host', this.bastions.at(-1), { ...this.opts, budget });
    this.hosts.add(conn);
    void conn.closed.then(() => this.hosts.delete(conn));
    return conn;
  }

  /** Closes every host connection, then the bastions from the last to the first. */
  async close(): Promise<void> {
    await Promise.all([...this.hosts].map((h) => h.close()));
    for (const b of [...this.bastions].reverse()) await b.close();
  }
}
