import path from 'node:path';
import type { AuditSink, SinkRecovered } from './audit-sink.js';
import { StdoutSink } from './stdout-sink.js';
import { StreamSyslogSink } from './stream-sink.js';
import { UdpSyslogSink } from './udp-sink.js';

/**
 * A sink from its spec: `udp://HOST:PORT`, `tcp://HOST:PORT` (syslog RFC
 * 5424), `unix:/PATH` (syslog over a unix stream socket), `stdout` (JSON
 * Lines). Throws on anything else.
 */
export function createSink(spec: string, appName: string, stdoutAfter: Promise<unknown> | undefined, onRecovered: SinkRecovered): AuditSink {
  if (spec === 'stdout') return new StdoutSink(onRecovered, process.stdout, stdoutAfter);
  const unix = /^unix:(.+)$/.exec(spec);
  if (unix) {
    if (!path.isAbsolute(unix[1]!)) throw new Error(`audit sink ${spec}: the socket path must be absolute`);
    return new StreamSyslogSink(spec, { path: unix[1]! }, appName, onRecovered);
  }
  const m = /^(udp|tcp):\/\/\[?([^\]/]+?)\]?:(\d{1,5})$/.exec(spec);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`audit sink "${spec}" is not udp://HOST:PORT, tcp://HOST:PORT, unix:/PATH or stdout`);
  const [, proto, host, port] = m as unknown as [string, 'udp' | 'tcp', string, string];
  return proto === 'udp' ? new UdpSyslogSink(spec, host, Number(port), appName, onRecovered) : new StreamSyslogSink(spec, { host, port: Number(port) }, appName, onRecovered);
}
