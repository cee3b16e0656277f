import type { IncomingMessage } from 'node:http';
import { parseDictionary } from 'structured-headers';
import { SIGNATURE_LABEL } from '../../protocol/index.js';

/** The keyid a request presents, read without trusting it (for denied-request audit records). */
export function presentedKeyid(req: IncomingMessage): string | null {
  const raw = req.headers['signature-input'];
  if (typeof raw !== 'string' || raw.length > 4096) return null;
  try {
    const member = parseDictionary(raw).get(SIGNATURE_LABEL);
    const keyid = member?.[1].get('keyid');
    return typeof keyid === 'string' ? keyid.slice(0, 200) : null;
  } catch {
    return null;
  }
}

export function peerOf(req: IncomingMessage): string {
  const s = req.socket;
  if (!s.remoteAddress) return 'unix';
  return s.remoteFamily === 'IPv6' ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
}

/**
 * The Opsctl-Reason header as text. Header values arrive as latin1; a client
 * that sent UTF-8 bytes gets them decoded back, anything else is kept as is.
 */
export function reasonOf(req: IncomingMessage, header: string): string | undefined {
  const raw = req.headers[header];
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const bytes = Buffer.from(raw, 'latin1');
  const utf8 = bytes.toString('utf8');
  const text = Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : raw;
  return text.trim().slice(0, 1000);
}

/** Splits the raw request target into path and query exactly as sent (still percent-encoded). */
export function splitTarget(url: string): { path: string; query: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, query: '' } : { path: url.slice(0, i), query: url.slice(i + 1) };
}
