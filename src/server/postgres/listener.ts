import pg from 'pg';
import type { PostgresClientConfig } from './connection.js';
import { clientConfig } from './pg-pool.js';

export interface ListenerOptions {
  connection: string | PostgresClientConfig;
  channel: string;
  /** A notification on the channel (payload as sent). */
  onNotify(payload: string): void;
  /**
   * The LISTEN session was (re)established after having been lost:
   * notifications sent meanwhile are gone, so the owner must re-read.
   */
  onResync(): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** First retry delay after a lost session, doubled up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * One dedicated session that LISTENs on a channel and comes back by itself
 * when the database restarts or the connection drops (retrying with capped
 * backoff, 50 ms doubling to 1 s by default, so a restarted database is
 * noticed within about a second).
 */
export class Listener {
  private client: pg.Client | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private everConnected = false;
  private readyResolve!: () => void;
  /** Resolves once the first LISTEN is in place. */
  readonly ready: Promise<void>;

  constructor(private readonly o: ListenerOptions) {
    this.delay = o.minDelayMs ?? 50;
    this.ready = new Promise((resolve) => { this.readyResolve = resolve; });
  }

  /** Connects; rejects when the first attempt fails (a wrong URL should fail the start, not retry forever). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.o.connection));
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (!this.closed) {
        this.o.log('warn', `postgres: LISTEN ${this.o.channel} session lost (${why}); reconnecting`);
        this.schedule();
      }
    };
    client.on('error', (e) => onLost(e.message));
    client.on('end', () => onLost('connection ended'));
    client.on('notification', (n) => {
      if (n.channel === this.o.channel) this.o.onNotify(n.payload ?? '');
    });
    await client.connect();
    await client.query(`LISTEN ${this.o.channel}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delay = this.o.minDelayMs ?? 50;
    if (this.everConnected) {
      this.o.log('info', `postgres: LISTEN ${this.o.channel} session back`);
      this.o.onResync();
    }
    this.everConnected = true;
    this.readyResolve();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().catch(() => {
        this.delay = Math.min(this.delay * 2, this.o.maxDelayMs ?? 1000);
        this.schedule();
      });
    }, this.delay);
    this.timer.unref();
  }

  /** Whether the LISTEN session is up right now. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
