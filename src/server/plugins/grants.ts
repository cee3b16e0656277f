import { ProblemError, ROLES, ed25519PublicKeyLine, type AuditGrantNote, type ApprovalActor, type ApprovalPolicy, type Role } from '../../protocol/index.js';
import type { StoredGrant } from '../options.js';
import { personOf, personsOf } from '../auth/person.js';
import type { GrantService } from '../grants/grant-service.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

function higher(a: Role, b: Role): Role {
  return ROLES.indexOf(a) >= ROLES.indexOf(b) ? a : b;
}

/** The audit record's note on a grant's lifecycle (created, revoked): which grant, for whom, until when. */
export function grantAuditNote(g: Pick<StoredGrant, 'id' | 'keyid' | 'principal' | 'role' | 'expiresAt'>, event: AuditGrantNote['event']): { grant: AuditGrantNote } {
  return { grant: { id: g.id, event, keyid: g.keyid, principal: g.principal, role: g.role, expiresAt: g.expiresAt } };
}

/**
 * grants.create, grants.list, grants.revoke (admin by default, see
 * GrantsOptions.granterRole) and grants.request (any allowed key; held for
 * approval). The role needed to create a grant is the higher of the granter
 * role and the role granted, so nobody grants above their own role, and the
 * refusal is the pipeline's own 403 before anything is recorded as accepted.
 */
export function registerGrants(ctx: PluginContext, grants: GrantService): void {
  const granterRole = ctx.options.grants?.granterRole ?? 'admin';
  ctx.register({
    ...standardRoute('grants.create', {
      policy: (params) => ({
        role: higher(granterRole, params.role as Role),
        destructive: false,
        // The whole key line is in the grant note; the audited params keep its fingerprint only.
        validate: () => grants.checkNew({ publicKey: String(params.publicKey), ttlSeconds: Number(params.ttlSeconds) }),
      }),
      handler: async ({ params, principal }) => {
        // The new grant's key acts for the granter's person, carries the
        // granter's persons as its authority, and is made under the
        // granter's own grant if any (it ends with it, never outlasts it).
        const grant = await grants.create(
          {
            publicKey: String(params.publicKey),
            role: params.role as Role,
            ttlSeconds: Number(params.ttlSeconds),
            reason: String(params.reason),
            ...(typeof params.principal === 'string' ? { principal: params.principal } : {}),
          },
          {
            name: principal.name,
            keyid: principal.keyid,
            role: principal.role,
            actsFor: personOf(principal),
            derivedFrom: personsOf(principal),
            ...(principal.grantId ? { parents: [principal.grantId] } : {}),
          },
        );
        return { status: 201, body: { grant: grants.get(grant.id) }, audit: grantAuditNote(grant, 'created') };
      },
    }),
    role: granterRole,
    scope: grants.shared ? 'service' : 'instance',
  });
  ctx.register({
    ...standardRoute('grants.list', {
      handler: async () => {
        // Shared store: list what every replica wrote, not only what reached this one's notices.
        await grants.refresh();
        return { body: { grants: grants.list(), maxTtlSeconds: grants.options.maxTtlSeconds } };
      },
    }),
    role: granterRole,
    scope: grants.shared ? 'service' : 'instance',
  });
  ctx.register({
    ...standardRoute('grants.revoke', {
      handler: async ({ params, principal, requestId }) => {
        // Every grant made under it ends too, each with a record of its own; the answer lists them.
        const { grant, revoked, ended } = await grants.revoke(String(params.id), principal, Date.now(), { requestId });
        return { body: { grant, revoked, ended }, ...(revoked ? { audit: grantAuditNote(grant, 'revoked') } : {}) };
      },
    }),
    role: granterRole,
    scope: grants.shared ? 'service' : 'instance',
  });
  registerAccessRequests(ctx, grants);
}

/**
 * grants.request: the handler runs only once the request is approved (the
 * approvals stage holds it; the approval policy asks for one admin who is
 * not the requester unless the service says otherwise), and then as the
 * requester: the grant goes to the key that signed the request.
 */
/** Who approves an access request unless the service says otherwise (approvals.endpoints['grants.request']). */
export const DEFAULT_ACCESS_REQUEST_APPROVAL: ApprovalPolicy = { count: 1, role: 'admin' };

function registerAccessRequests(ctx: PluginContext, grants: GrantService): void {
  const base = ctx.options.approvals?.endpoints?.['grants.request'] ?? DEFAULT_ACCESS_REQUEST_APPROVAL;
  ctx.register({
    ...standardRoute('grants.request', {
      policy: (params) => ({
        role: 'viewer',
        destructive: false,
        // Never above the granter: whoever approves must hold at least the role asked for.
        approval: { ...base, role: higher(base.role ?? 'viewer', params.role as Role) },
        validate: () => grants.checkTtl(Number(params.ttlSeconds)),
      }),
      handler: async ({ params, principal, reason, approval }) => {
        // Only an approval turns a request into a grant (a break-glass run, where a service allows it, is not one).
        if (!approval || approval.approvers.length === 0) {
          throw new ProblemError('auth.forbidden', 'an access request becomes a grant only once it is approved; ask an admin to approve it (opsctl approvals approve ID)');
        }
        const entry = ctx.allowlist.lookup(principal.keyid);
        const publicKey = entry ? ed25519PublicKeyLine(entry.key) : grants.publicKeyOf(principal.keyid);
        if (!publicKey) throw new ProblemError('auth.forbidden', 'the requesting key is no longer known; no grant was made');
        const approvedBy: ApprovalActor[] = approval.approvedBy ?? approval.approvers.map((name) => ({ name, keyid: '', role: params.role as Role }));
        const grant = await grants.create(
          { publicKey, role: params.role as Role, ttlSeconds: Number(params.ttlSeconds), reason: String(params.reason ?? reason ?? ''), principal: entry?.name ?? principal.name, approvalId: approval.id },
          // Approved by a second person: the approvers are the granters, never
          // the requester. The key keeps acting for the requester's person; its
          // authority comes from the approvers (and whatever the requester's
          // own came from), and it ends with any grant either acted under.
          {
            name: approval.approvers.join(', '),
            keyid: null,
            role: params.role as Role,
            actsFor: personOf(principal),
            derivedFrom: [...approvedBy.flatMap((a) => personsOf(a)), ...(principal.derivedFrom ?? [])],
            parents: [principal.grantId, ...approvedBy.map((a) => a.grantId)].filter((id): id is string => typeof id === 'string'),
            clampToParents: true,
          },
        );
        return { status: 201, body: { grant: grants.get(grant.id) }, audit: grantAuditNote(grant, 'created') };
      },
    }),
    approval: base,
  });
}
