import type { InternalPortOptions } from './options.js';

export type PortLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The port's operational log: the service's sink, or one line per message on stderr. */
export function portLogger(options: Pick<InternalPortOptions, 'log'>): PortLog {
  if (options.log) return options.log;
  return (level, message) => {
    process.stderr.write(`opsctl-internal-port ${level}: ${message}\n`);
  };
}
