/**
 * Grants: short-lived access for a key, given by an admin (`grants.create`)
 * or through an approved access request (`grants.request`). These are the
 * wire shapes both sides share; the server keeps its own stored form.
 */
import type { Role } from './catalog.js';

/** `active` until `expiresAt`; then `expired`, or `revoked` when ended early. */
export type GrantState = 'active' | 'expired' | 'revoked';

/** One grant as GET /v1/grants and POST /v1/grants answer it. */
export interface GrantView {
  /** 16 letters and digits; what `opsctl grants revoke ID` takes. */
  id: string;
  /** The granted key's fingerprint (`SHA256:…`), the keyid its requests are signed with. */
  keyid: string;
  /** Who the key belongs to: the name audit records show for its requests. */
  principal: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  /** The granter's principal name; for an access request, the approvers joined with ", ". */
  grantedBy: string;
  grantedByKeyid: string | null;
  reason: string;
  state: GrantState;
  revokedAt?: string;
  revokedBy?: string;
  /** Set when the grant came from an approved access request. */
  approvalId?: string;
  /**
   * Whom the key acts for when approvals count persons, if it is on no
   * allowlist: the person who created the grant (for an access request,
   * the requester's person). Absent for grants made before persons were counted.
   */
  actsFor?: string;
  /** Every person this grant's authority comes from: its granter(s) and theirs, up the chain of grants. */
  derivedFrom?: string[];
  /** The grants this one was made under (the granter's, or for an access request the requester's and approvers'): it ends with any of them. */
  parentGrants?: string[];
  /** Set when the grant was revoked because a grant it was made under ended. */
  endedWith?: string;
}

/** The answer of GET /v1/grants: active grants first, then those ended recently. */
export interface GrantList {
  grants: GrantView[];
  /** The longest grant this service gives (seconds). */
  maxTtlSeconds: number;
}

/** The answer of DELETE /v1/grants/{id}. */
export interface GrantRevokeAnswer {
  grant: GrantView;
  /** False when it had already ended (nothing changed). */
  revoked: boolean;
  /** The grants made under it (recursively) that ended with it now, each also an audit record. */
  ended: GrantView[];
}

/** The longest grant a service gives unless it configures otherwise: 8 hours. */
export const DEFAULT_GRANT_MAX_TTL_SECONDS = 8 * 3600;
