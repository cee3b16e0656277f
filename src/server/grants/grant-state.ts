import type { GrantState, GrantView } from '../../protocol/index.js';
import type { StoredGrant } from '../options.js';

/** A grant's state at `now` (ms): expiry is judged against the clock on every call, never cached. */
export function grantState(g: StoredGrant, now: number): GrantState {
  if (g.revokedAt) return 'revoked';
  return Date.parse(g.expiresAt) <= now ? 'expired' : 'active';
}

/** When the grant ended or will end (ms): its revocation, else its expiry. */
export function grantEndedAt(g: StoredGrant): number {
  return g.revokedAt ? Date.parse(g.revokedAt) : Date.parse(g.expiresAt);
}

/** The wire form: what the store keeps minus the key material and bookkeeping, plus the state. */
export function grantView(g: StoredGrant, now: number): GrantView {
  return {
    id: g.id,
    keyid: g.keyid,
    principal: g.principal,
    role: g.role,
    createdAt: g.createdAt,
    expiresAt: g.expiresAt,
    grantedBy: g.grantedBy,
    grantedByKeyid: g.grantedByKeyid,
    reason: g.reason,
    state: grantState(g, now),
    ...(g.revokedAt ? { revokedAt: g.revokedAt } : {}),
    ...(g.revokedBy ? { revokedBy: g.revokedBy } : {}),
    ...(g.approvalId ? { approvalId: g.approvalId } : {}),
  };
}
