import type { Column, Output } from '../../output/output.js';
import type { GrantView } from '../../../protocol/grants.js';
import { relativeTime } from './duration.js';
import { terminalText } from './terminal-text.js';

/** The table columns of a grant; `expires` is relative ("in 1h59m", "3m ago"). */
export function grantColumns(out: Output, now = Date.now()): Column[] {
  const c = out.colors;
  const state = (v: unknown) => (v === 'active' ? c.green('active') : v === 'revoked' ? c.red('revoked') : c.dim(terminalText(v)));
  return [
    { key: 'id', header: 'id', fit: 'id', format: terminalText },
    { key: 'principal', header: 'principal', format: terminalText },
    { key: 'role', header: 'role', format: (v) => c.bold(terminalText(v)) },
    { key: 'state', header: 'state', format: state },
    { key: 'expiresAt', header: 'expires', format: (v, r) => (r.state === 'revoked' ? `revoked ${relativeTime(String(r.revokedAt), now)}` : relativeTime(String(v), now)) },
    { key: 'grantedBy', header: 'granted by', format: terminalText },
    { key: 'reason', header: 'reason', fit: 'text', format: terminalText },
    // The grants it was made under: it ends with any of them (src/server/README.md, "Grants").
    { key: 'parentGrants', header: 'under', format: (v, r) => (r.endedWith ? `ended with ${terminalText(r.endedWith)}` : Array.isArray(v) ? v.map(terminalText).join(', ') : '') },
  ];
}

/** One grant as key/value lines (after `grants add`, `grants request`). */
export function showGrant(out: Output, g: GrantView, now = Date.now()): void {
  out.fields([
    ['grant', terminalText(g.id)],
    ['principal', terminalText(g.principal)],
    ['key id', terminalText(g.keyid)],
    ['role', out.colors.bold(terminalText(g.role))],
    ['expires', `${relativeTime(g.expiresAt, now)} (${terminalText(g.expiresAt)})`],
    ['granted by', terminalText(g.grantedBy)],
    ...(g.actsFor && g.actsFor !== g.principal ? [['acts for', `${terminalText(g.actsFor)} (when approvals count persons, unless the key is on the allowlist)`] as [string, string]] : []),
    ...(g.parentGrants?.length ? [['under', `${g.parentGrants.map(terminalText).join(', ')} (ends with it)`] as [string, string]] : []),
    ['reason', terminalText(g.reason)],
  ]);
}
