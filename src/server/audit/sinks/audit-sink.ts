/** Where a copy of every audit record goes as it is written (src/server/README.md, "Shipping the audit log"). */
export interface AuditSink {
  /** `udp://host:port`, `tcp://host:port`, `unix:/path`, `stdout`. */
  readonly name: string;
  /** Hands one record on; never blocks, never throws. */
  ship(line: string, record: { seq: number; time: string; type?: unknown; outcome?: unknown }): void;
  /** Records that could not be shipped, since start. */
  readonly dropped: number;
  /** Why the sink is not delivering right now, or undefined when it is. */
  readonly problem: string | undefined;
  close(): Promise<void>;
}

/** Called by a sink when it delivers again after dropping records: the log records how many. */
export type SinkRecovered = (sink: string, dropped: number, since: string) => void;
