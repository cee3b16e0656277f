import type { GrantState, GrantView } from '../../protocol/index.js';
import type { StoredGrant } from '../options.js';

/** A grant's state at `now` (ms): expiry is judged against the clock on every call, never cached. */
export function grantState(g: StoredGrant, now: number): GrantState {
  if (g.revokedAt) return 'revoked';
  return Date.parse(g.expiresAt) <= now ? 'expired' : 'active';
}

/**
 * Whom a key on no allowlist acts for under this grant (src/server/README.md,
 * "Approvals count persons"). Grants stored before persons were counted have
 * no `actsFor`: their granter then (for an access request, the requester).
 */
export function grantActsFor(g: StoredGrant): string {
  return g.actsFor ?? (g.approvalId ? g.principal : g.grantedBy);
}

/** The persons a grant's authority comes from (older grants: their grantedBy, approvers split). */
export function grantDerivedFrom(g: StoredGrant): string[] {
  return g.derivedFrom ?? (g.approvalId ? g.grantedBy.split(', ') : [g.grantedBy]);
}

/** When the grant ended or will end (ms): its revocation, else its expiry. */
export function grantEndedAt(g: StoredGrant): number {
  return g.revokedAt ? Date.parse(g.revokedAt) : Date.parse(g.expiresAt);
}

/**
 * The wire form: what the store keeps minus the key material and bookkeeping,
 * plus the state (`state` overrides it: a grant whose parent ended is
 * revoked before its own record says so).
 */
export function grantView(g: StoredGrant, now: number, state: GrantState = grantState(g, now)): GrantView {
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
    state,
    ...(g.revokedAt ? { revokedAt: g.revokedAt } : {}),
    ...(g.revokedBy ? { revokedBy: g.revokedBy } : {}),
    ...(g.approvalId ? { approvalId: g.approvalId } : {}),
    actsFor: grantActsFor(g),
    derivedFrom: grantDerivedFrom(g),
    ...(g.parents?.length ? { parentGrants: [...g.parents] } : {}),
    ...(g.endedWith ? { endedWith: g.endedWith } : {}),
  };
}
