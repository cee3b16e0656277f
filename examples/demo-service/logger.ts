import type { Writable } from 'node:stream';

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;

/** Plain one-line logs on a stream (stderr for the service: stdout is reserved). */
export function createLogger(stream: Writable, name = 'demo-service'): Logger {
  return (level, message) => {
    stream.write(`${new Date().toISOString()} ${name} ${level}: ${message.replace(/[\r\n]+/g, ' ')}\n`);
  };
}
