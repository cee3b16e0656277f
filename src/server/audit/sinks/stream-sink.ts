import net from 'node:net';
import { syslogMessage } from './syslog-message.js';
import type { AuditSink, SinkRecovered } from './audit-sink.js';

const MAX_QUEUE = 10_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * Syslog over a stream (TCP or a unix stream socket) with RFC 6587
 * octet-counting framing (`LEN SP MSG`). Reconnects with backoff; while
 * it is down records wait in a bounded queue (10,000), beyond which they
 * are dropped and counted. Records handed to a connection that then breaks
 * within a second are sent again on the next one (a receiver may see them
 * twice: `opsctl audit verify --file` skips exact repeats).
 */
export class StreamSyslogSink implements AuditSink {
  private socket: net.Socket | undefined;
  private connected = false;
  private queue: Array<{ frame: string; seq: number }> = [];
  /** Frames written on the current connection in the last second: resent if it breaks. */
  private recent: Array<{ frame: string; seq: number; at: number }> = [];
  private backoff = 100;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lost = 0;
  private lostSince: string | undefined;
  private lostNow = 0;
  dropped = 0;
  problem: string | undefined = 'not connected yet';

  constructor(readonly name: string, private readonly target: { host: string; port: number } | { path: string }, private readonly appName: string, private readonly onRecovered: SinkRecovered) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const s = 'path' in this.target ? net.createConnection({ path: this.target.path }) : net.createConnection({ host: this.target.host, port: this.target.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.backoff = 100;
      this.problem = undefined;
      this.flush();
      if (this.lostNow > 0) {
        this.onRecovered(this.name, this.lostNow, this.lostSince!);
        this.lostNow = 0;
        this.lostSince = undefined;
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => { this.problem = `${this.name}: ${e.code ?? e.message}`; });
    s.on('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      this.socket = undefined;
      if (wasConnected) {
        // What went out in the last second may never have arrived: send it again.
        const cutoff = Date.now() - 1000;
        const again = this.recent.filter((r) => r.at >= cutoff).map(({ frame, seq }) => ({ frame, seq }));
        this.queue = [...again, ...this.queue];
        this.recent = [];
        this.problem ??= `${this.name}: connection closed`;
      }
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.timer.unref();
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    });
    s.unref();
  }

  ship(line: string, record: { seq: number; time: string; type?: unknown; outcome?: unknown }): void {
    if (this.closed) return;
    const msg = syslogMessage(line, record, this.appName);
    const frame = `${Buffer.byteLength(msg)} ${msg}`;
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      this.lost++;
      this.lostNow++;
      this.lostSince ??= record.time;
      return;
    }
    this.queue.push({ frame, seq: record.seq });
    if (this.connected) this.flush();
  }

  private flush(): void {
    const s = this.socket;
    if (!s || !this.connected) return;
    const now = Date.now();
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    s.write(batch.map((b) => b.frame).join(''));
    this.recent = this.recent.filter((r) => r.at >= now - 1000);
    for (const b of batch) this.recent.push({ ...b, at: now });
    if (this.recent.length > MAX_QUEUE) this.recent.splice(0, this.recent.length - MAX_QUEUE);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { s.destroy(); resolve(); }, 1000);
      s.end(() => { clearTimeout(t); resolve(); });
    });
  }
}
