import type { AuditSink, SinkRecovered } from './audit-sink.js';

const MAX_BUFFERED = 16 * 1024 * 1024;

/**
 * JSON Lines on stdout, for a container's log pipeline: each record's line
 * exactly as stored. A reader that does not keep up never blocks the port:
 * beyond 16 MiB waiting in stdout's buffer records are dropped and counted.
 */
export class StdoutSink implements AuditSink {
  readonly name = 'stdout';
  dropped = 0;
  problem: string | undefined;
  private lostNow = 0;
  private lostSince: string | undefined;

  private held: string[] | undefined;

  constructor(private readonly onRecovered: SinkRecovered, private readonly out: NodeJS.WritableStream & { writableLength?: number } = process.stdout, after?: Promise<unknown>) {
    if (after) {
      this.held = [];
      void after.finally(() => {
        const lines = this.held ?? [];
        this.held = undefined;
        if (lines.length) this.out.write(lines.join(''));
      });
    }
  }

  ship(line: string, record: { time: string }): void {
    if (this.held) {
      if (this.held.length < 10_000) this.held.push(line + '\n');
      else { this.dropped++; this.lostNow++; this.lostSince ??= record.time; }
      return;
    }
    if ((this.out.writableLength ?? 0) > MAX_BUFFERED) {
      this.dropped++;
      this.lostNow++;
      this.lostSince ??= record.time;
      this.problem = 'stdout: the reader does not keep up';
      return;
    }
    if (this.lostNow > 0) {
      const n = this.lostNow;
      this.lostNow = 0;
      this.problem = undefined;
      this.onRecovered(this.name, n, this.lostSince!);
      this.lostSince = undefined;
    }
    this.out.write(line + '\n');
  }

  async close(): Promise<void> {
    // stdout is the process's; it stays open.
  }
}
