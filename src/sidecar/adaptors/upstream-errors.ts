/**
 * The problems an adaptor answers when its upstream lets it down
 * (docs/protocol.md, "Problem codes"). The detail names the endpoint, never
 * a secret; what an upstream printed goes along cut short, as data for the
 * CLI's sanitiser like any other server string.
 */
import { ProblemError } from '../../protocol/index.js';

const SNIPPET = 300;

/** The start of an answer, on one line, for a problem's detail. */
export function snippet(text: string, max = SNIPPET): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  const one = text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' ').replace(/\s*\n\s*/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

export function upstreamUnavailable(endpoint: string, cause: string): ProblemError {
  return new ProblemError('upstream.unavailable', `${endpoint}: the upstream cannot be reached (${cause})`);
}

export function upstreamTimeout(endpoint: string, ms: number): ProblemError {
  return new ProblemError('upstream.timeout', `${endpoint}: the upstream did not answer within ${formatMs(ms)}`);
}

export function upstreamTooLarge(endpoint: string, limit: number): ProblemError {
  return new ProblemError('upstream.too_large', `${endpoint}: the upstream's answer is larger than ${limit} bytes`, { limit });
}

/** The upstream answered, with an error: its status (HTTP) and the start of its answer. */
export function upstreamError(endpoint: string, what: string, answer: string, extensions: Record<string, unknown> = {}): ProblemError {
  const start = snippet(answer);
  return new ProblemError('upstream.error', `${endpoint}: ${what}${start ? `: ${start}` : ''}`, { ...extensions, ...(answer ? { answer: answer.slice(0, 4096) } : {}) });
}

/** A node:net / node:http error code as a short cause. */
export function causeOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT': return 'no such socket';
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'EACCES': return 'permission denied';
    case 'EPIPE': return 'connection closed while sending';
    case 'ENOTSOCK': return 'not a socket';
    default: return err?.code ?? (err?.message ? snippet(err.message, 120) : 'unknown error');
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}
