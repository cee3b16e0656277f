/**
 * Persons, as the two-person rule counts them (src/server/README.md,
 * "Approvals count persons"). A person is an allowlisted principal: the keys
 * of one allowlist name are one person. A key known only through a grant is
 * nobody of its own: the server cannot tell who holds it, so it acts for the
 * person who created the grant. Through a grant a key also carries every
 * person its authority comes from (`derivedFrom`): the granter, and theirs
 * up the chain of grants.
 */

import { personKey, samePerson } from '../../protocol/approvals.js';

// How a name reads as a person is one rule for both sides (the CLI refuses
// the requester too, before asking): declared in the protocol.
export { personKey, samePerson };

/** Who signed something, as far as counting persons goes. */
export interface Signer {
  keyid: string;
  /** The principal name the request carried (allowlist comment or grant principal). */
  name: string;
  /** Whom the key acts for (absent in records stored before persons were counted: then `name`). */
  person?: string | undefined;
  /** Persons its authority comes from through grants. */
  derivedFrom?: string[] | undefined;
}

/** The person a signer acts for. */
export function personOf(s: Signer): string {
  return s.person ?? s.name;
}

/** Every person a signer answers to: the one it acts for and those its authority comes from. */
export function personsOf(s: Signer): string[] {
  return [personOf(s), ...(s.derivedFrom ?? [])];
}

/**
 * True when `approver` is, for the two-person rule, the requester again:
 * the same key, the same name, the same person, or authority that comes
 * from the requester (a grant the requester created, directly or through
 * a chain of grants).
 */
export function isRequesterAgain(approver: Signer, requester: Signer): boolean {
  if (approver.keyid === requester.keyid) return true;
  if (samePerson(approver.name, requester.name)) return true;
  const who = personKey(personOf(requester));
  return personsOf(approver).some((p) => personKey(p) === who) || samePerson(personOf(approver), requester.name);
}

/**
 * True when two approvals come from one person: the same key, name or
 * person, or one's authority comes from the other's person. Such a second
 * approval adds nobody and counts once.
 */
export function samePersonAgain(a: Signer, b: Signer): boolean {
  if (a.keyid === b.keyid || samePerson(a.name, b.name)) return true;
  const pa = personKey(personOf(a));
  const pb = personKey(personOf(b));
  if (pa === pb) return true;
  return personsOf(a).some((p) => personKey(p) === pb) || personsOf(b).some((p) => personKey(p) === pa);
}
