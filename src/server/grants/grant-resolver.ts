import type { Allowlist } from '../auth/allowlist.js';
import type { KeyResolver } from '../auth/key-resolver.js';
import type { GrantService } from './grant-service.js';
import { resolveCaller } from './resolve-caller.js';

/**
 * The key resolver with grants: the allowlist entry of a key and its
 * active grant, the higher role winning (see resolveCaller). Expiry is
 * judged on every call, so a grant stops working at its second.
 */
export function grantsResolver(allowlist: Allowlist, grants: GrantService): KeyResolver {
  return (keyid) => {
    const caller = resolveCaller(keyid, allowlist.lookup(keyid), grants);
    if (!caller) return undefined;
    return { key: caller.key, principal: caller.principal, source: caller.principal.grantId ? 'grant' : 'allowlist' };
  };
}
