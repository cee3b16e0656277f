import type { ApprovalPolicy } from '../../protocol/catalog.js';

/** "1 approval (admin), break-glass" — a catalog entry's approval policy in words ('' for none). */
export function approvalText(p: ApprovalPolicy | undefined): string {
  if (!p) return '';
  return `${p.count} approval${p.count === 1 ? '' : 's'}${p.role ? ` (${p.role})` : ''}${p.breakGlass ? ', break-glass' : ''}`;
}
