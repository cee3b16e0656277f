import type { KeyObject } from 'node:crypto';
import { ROLES } from '../../protocol/index.js';
import type { AllowlistEntry } from '../auth/parse-authorized-keys.js';
import type { Principal } from '../options.js';
import type { GrantService } from './grant-service.js';
import { grantActsFor, grantDerivedFrom } from './grant-state.js';

/** Who signed a request: the key to verify with and the principal it acts as. */
export interface ResolvedCaller {
  key: KeyObject;
  principal: Principal;
}

/**
 * The allowlist entry of a key and its active grant, merged: the higher role
 * wins. A key on the allowlist keeps its allowlist name; the grant id is set
 * only when the grant is what lifts the role (or the key is on no
 * allowlist), since only then is the request made under the grant; then
 * the principal also carries the grant's granter, the person it acts for
 * and the persons its authority comes from (src/server/README.md,
 * "Approvals count persons").
 */
export function resolveCaller(keyid: string, entry: AllowlistEntry | undefined, grants: GrantService | undefined, now = Date.now()): ResolvedCaller | undefined {
  const active = grants?.active(keyid, now);
  if (!active) return entry ? { key: entry.key, principal: { name: entry.name, role: entry.role, keyid: entry.keyid } } : undefined;
  const g = active.grant;
  if (entry && ROLES.indexOf(entry.role) >= ROLES.indexOf(g.role)) {
    return { key: entry.key, principal: { name: entry.name, role: entry.role, keyid: entry.keyid } };
  }
  // The person: an allowlisted key is its owner's; a key known only
  // through the grant is nobody of its own and acts for whoever created it.
  return {
    key: entry?.key ?? active.key,
    principal: {
      name: entry?.name ?? g.principal,
      role: g.role,
      keyid,
      grantId: g.id,
      grantedBy: g.grantedBy,
      person: entry?.name ?? grantActsFor(g),
      derivedFrom: grantDerivedFrom(g),
    },
  };
}
