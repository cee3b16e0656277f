import dgram from 'node:dgram';
import net from 'node:net';
import { syslogMessage } from './syslog-message.js';
import type { AuditSink, SinkRecovered } from './audit-sink.js';

/**
 * Syslog over UDP (RFC 5426): one datagram per record on a connected
 * socket, so an ICMP "port unreachable" from a receiver that is down comes
 * back as an error and the records sent meanwhile are counted as dropped.
 * UDP loses datagrams silently too; for delivery you can count on, use TCP.
 */
export class UdpSyslogSink implements AuditSink {
  private readonly socket: dgram.Socket;
  private ready = false;
  private pending: Buffer[] = [];
  private lostNow = 0;
  private lostSince: string | undefined;
  private failing = false;
  private lastErrorAt = 0;
  dropped = 0;
  problem: string | undefined;

  constructor(readonly name: string, host: string, port: number, private readonly appName: string, private readonly onRecovered: SinkRecovered) {
    this.socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.failed(e));
    this.socket.connect(port, host, () => {
      this.ready = true;
      for (const p of this.pending) this.send(p, undefined);
      this.pending = [];
    });
    this.socket.unref();
  }

  ship(line: string, record: { seq: number; time: string; type?: unknown; outcome?: unknown }): void {
    const msg = Buffer.from(syslogMessage(line, record, this.appName));
    if (!this.ready) { if (this.pending.length < 1000) this.pending.push(msg); else this.countDrop(record.time); return; }
    this.send(msg, record.time);
  }

  /**
   * UDP has no acknowledgement: a receiver that is down shows only as an
   * ICMP error reported on the NEXT send. So a datagram sent within a second
   * of such an error counts as dropped (it is still sent, as a probe), and
   * the sink counts as back once a send more than a second after the last
   * error gets no error.
   */
  private send(msg: Buffer, time: string | undefined): void {
    const now = Date.now();
    let counted = false;
    if (this.failing && now - this.lastErrorAt < 1000) {
      this.countDrop(time ?? new Date(now).toISOString());
      counted = true;
    } else if (this.failing) {
      this.failing = false;
      this.problem = undefined;
      if (this.lostNow > 0) {
        this.onRecovered(this.name, this.lostNow, this.lostSince!);
        this.lostNow = 0;
        this.lostSince = undefined;
      }
    }
    this.socket.send(msg, (err) => {
      if (!err) return;
      this.failed(err as NodeJS.ErrnoException);
      if (!counted) this.countDrop(time ?? new Date().toISOString());
    });
  }

  private failed(e: NodeJS.ErrnoException): void {
    this.problem = `${this.name}: ${e.code ?? e.message}`;
    this.failing = true;
    this.lastErrorAt = Date.now();
  }

  private countDrop(time: string): void {
    this.dropped++;
    this.lostNow++;
    this.lostSince ??= time;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => { try { this.socket.close(() => resolve()); } catch { resolve(); } });
  }
}
