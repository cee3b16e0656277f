import { READ_ONLY_POSTS, isRole, type ApprovalPolicy } from '../../protocol/index.js';
import { InternalPortConfigError } from '../config-error.js';

/** At most this many approvers per request: more is a misconfiguration, not a safety margin. */
const MAX_COUNT = 10;

/**
 * Checks one approval policy from the service's options; refuses to start on
 * anything incomplete, since a typo here would silently let requests run
 * without the review the service asked for.
 */
export function checkPolicy(where: string, p: unknown): ApprovalPolicy {
  const fail = (why: string): never => { throw new InternalPortConfigError(`${where}: approval ${why}`); };
  if (!p || typeof p !== 'object' || Array.isArray(p)) fail('must be an object {count, role?, breakGlass?}');
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['count', 'role', 'breakGlass'].includes(k)) fail(`has an unknown field "${k}"`);
  if (typeof o.count !== 'number' || !Number.isInteger(o.count) || o.count < 1 || o.count > MAX_COUNT) fail(`count must be an integer 1-${MAX_COUNT}`);
  if (o.role !== undefined && !isRole(o.role)) fail('role must be viewer, operator or admin');
  if (o.breakGlass !== undefined && typeof o.breakGlass !== 'boolean') fail('breakGlass must be true or false');
  return {
    count: o.count as number,
    ...(o.role !== undefined ? { role: o.role as ApprovalPolicy['role'] & string } : {}),
    ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass as boolean } : {}),
  };
}

/** Endpoints whose requests can never be held: reads, and the approval machinery itself. */
export function holdable(id: string, method: string): boolean {
  return method !== 'GET' && !id.startsWith('approvals.') && !READ_ONLY_POSTS.includes(id);
}
