import type { Role } from './catalog.js';

/**
 * GET /v1/whoami: the caller as the server sees it. The server's clock is
 * included so a client can measure its skew from the same answer.
 */
export interface WhoamiResponse {
  /** The allowlist comment of the key (who it belongs to). */
  principal: string;
  role: Role;
  /** OpenSSH SHA256 fingerprint of the key that signed the request. */
  keyid: string;
  /** The server's clock when it answered (ISO 8601). */
  serverTime: string;
  service: string;
  /** Present when the role comes from a grant (see GrantView): the grant the key acts under now. */
  grant?: { id: string; role: Role; expiresAt: string; grantedBy: string };
  /**
   * Present when approvals count this key as someone other than `principal`
   * (a key known only through a grant acts for the person who created it).
   */
  actsFor?: string;
}
