import { createHash } from 'node:crypto';
import type { ApprovalView } from '../../protocol/approvals.js';
import { contentDigest } from '../../protocol/content-digest.js';

export type DigestCheck = { ok: true } | { ok: false; why: string } | { ok: 'unverifiable'; why: string };

/**
 * Recomputes a held request's digest from the signature base and body the
 * server shows, and checks that the base names the same method, path, query
 * and body: so an approver does not have to trust the server's summary, only
 * the bytes the requester signed.
 */
export function verifyDigest(v: ApprovalView): DigestCheck {
  if (typeof v.signatureBase !== 'string') return { ok: 'unverifiable', why: 'the server did not send the signature base' };
  const lines = v.signatureBase.split('\n');
  const value = (name: string) => lines.find((l) => l.startsWith(`"${name}": `))?.slice(name.length + 4);
  if (value('@method') !== v.method) return { ok: false, why: `the signed method is ${value('@method')}, not ${v.method}` };
  if (value('@path') !== v.path) return { ok: false, why: `the signed path is ${value('@path')}, not ${v.path}` };
  if (value('@query') !== `?${v.query}`) return { ok: false, why: 'the signed query differs from the one shown' };
  if (v.body === undefined) {
    return v.method === 'GET' || value('content-digest') === undefined
      ? { ok: true }
      : { ok: 'unverifiable', why: 'the body has secret params and is not shown' };
  }
  const body = Buffer.from(v.body, 'utf8');
  const signedDigest = value('content-digest');
  if (body.length && signedDigest !== contentDigest(body)) return { ok: false, why: 'the body shown is not the body that was signed' };
  const digest = createHash('sha256').update(v.signatureBase, 'utf8').update('\n').update(body).digest('hex');
  if (digest !== v.digest) return { ok: false, why: 'the digest does not match the signed request' };
  return { ok: true };
}
