import type { WhoamiResponse } from '../../protocol/whoami.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/**
 * GET /v1/whoami (viewer): the signing key's principal, role and key id as
 * the authenticate stage resolved them, so an operator can check which role
 * a key acts with before trying a mutation.
 */
export function registerWhoami(ctx: PluginContext): void {
  ctx.register(standardRoute('whoami', {
    handler: ({ principal }) => {
      const body: WhoamiResponse = {
        principal: principal.name,
        role: principal.role,
        keyid: principal.keyid,
        serverTime: new Date().toISOString(),
        service: ctx.options.service.name,
      };
      const grant = principal.grantId ? ctx.grants.get(principal.grantId) : undefined;
      if (grant) body.grant = { id: grant.id, role: grant.role, expiresAt: grant.expiresAt, grantedBy: grant.grantedBy };
      // Whom approvals count this key as (src/server/README.md, "Approvals count persons").
      if (principal.person && principal.person !== principal.name) body.actsFor = principal.person;
      return { body };
    },
  }));
}
