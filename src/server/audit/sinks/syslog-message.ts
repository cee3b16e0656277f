import os from 'node:os';

/** RFC 5424 facility 13, "log audit". */
const FACILITY = 13;

/** PRINTUSASCII without space, at most `max` characters, or the NILVALUE. */
function header(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s || '-';
}

/**
 * One audit record as an RFC 5424 syslog message: facility "log audit",
 * severity notice for denials and info otherwise, MSGID `audit` (or the
 * record's own type), the record's seq in structured data, and the record's
 * line exactly as stored as MSG (no BOM), so a receiver that writes MSG
 * alone (rsyslog: template "%msg%\n") produces a log that
 * `opsctl audit verify --file` checks.
 */
export function syslogMessage(line: string, record: { seq: number; time: string; type?: unknown; outcome?: unknown }, appName: string): string {
  const severity = record.outcome === 'denied' ? 5 : 6;
  const msgid = typeof record.type === 'string' ? record.type : 'audit';
  return `<${FACILITY * 8 + severity}>1 ${record.time} ${header(os.hostname(), 255)} ${header(appName, 48)} ${process.pid} ${header(msgid, 32)} [opsctl@32473 seq="${record.seq}"] ${line}`;
}
