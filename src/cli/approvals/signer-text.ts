import type { ApprovalActor } from '../../protocol/approvals.js';
import { safeLine } from './terminal-text.js';

/**
 * What a signer's name alone does not say: the grant its key acted under
 * and that grant's granter, and the person the key counts as when that is
 * someone else (src/server/README.md, "Approvals count persons").
 * ` [grant Ab12… by bob-admin, acts for bob-admin]`, or '' for a plain
 * allowlisted key.
 */
export function signerNotes(a: ApprovalActor): string {
  const notes: string[] = [];
  if (a.grantId) notes.push(`grant ${safeLine(a.grantId)} by ${safeLine(a.grantedBy ?? '?')}`);
  if (a.person && a.person !== a.name) notes.push(`acts for ${safeLine(a.person)}`);
  return notes.length ? ` [${notes.join(', ')}]` : '';
}

/** A signer in one line: `bob-helper [grant Ab12… by bob-admin, acts for bob-admin]`. */
export function signerText(a: ApprovalActor): string {
  return safeLine(a.name) + signerNotes(a);
}
