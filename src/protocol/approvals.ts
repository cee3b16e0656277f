/**
 * Response types of the approval and dry-run endpoints (see
 * src/server/README.md, "Approvals and dry-run"). Shared by the server and
 * the CLI.
 */
import type { ApprovalPolicy, Role } from './catalog.js';

/**
 * `superseded`: the requester ran the same request by break-glass while it
 * waited, so it was closed (nothing runs through it any more); its
 * `supersededBy` names the break-glass entry.
 */
export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'failed' | 'superseded';
export const APPROVAL_STATES: readonly ApprovalState[] = ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'superseded'];

/** The longest long-poll of approvals.get and approvals.list (`wait`, seconds). */
export const MAX_APPROVAL_WAIT_SECONDS = 300;

/**
 * Who signed a held request or a decision on it. `person` is whom the key
 * acts for when persons are counted (src/server/README.md, "Approvals
 * count persons"): the allowlist name of an allowlisted key, or for a key
 * known only through a grant, the person who created that grant. A key
 * acting under a grant names it (`grantId`) and its granter (`grantedBy`);
 * `derivedFrom` lists every person its authority comes from through grants.
 */
export interface ApprovalActor {
  name: string;
  keyid: string;
  role: Role;
  /** Absent in approvals stored before persons were counted: then `name`. */
  person?: string;
  grantId?: string;
  grantedBy?: string;
  derivedFrom?: string[];
}

export interface ApprovalDecision extends ApprovalActor {
  at: string;
  reason?: string;
}

/** One held (or break-glass) request, as GET /v1/approvals/{id} shows it. */
export interface ApprovalView {
  id: string;
  state: ApprovalState;
  endpoint: string;
  method: string;
  path: string;
  query: string;
  /** Params as the audit log shows them (secrets redacted). */
  params: unknown;
  reason: string | null;
  idempotencyKey: string | null;
  /** sha256 hex of the signature base, a newline, and the body: what was asked, byte for byte. */
  digest: string;
  /** The RFC 9421 signature base the requester signed, so a client can recompute the digest. */
  signatureBase: string;
  /** The body as sent (absent when the endpoint has secret params). */
  body?: string;
  requester: ApprovalActor;
  requestedAt: string;
  expiresAt: string;
  /** Approvals needed, and the role an approver must hold. */
  required: number;
  approverRole: Role;
  approvers: ApprovalDecision[];
  /** Approvals given under a grant that has ended since: they no longer count. */
  voided?: ApprovalDecision[];
  rejectedBy?: ApprovalDecision;
  /** What a dry-run answered when the request was held (for migrations: the plan). */
  plan?: unknown;
  /** A dry-run of the held request taken now (approvals.get only). */
  dryRun?: unknown;
  /** Set when the same requester ran the same request by break-glass while this one waited: the break-glass entry's id. */
  supersededBy?: { id: string; at: string };
  /** Set for a request that ran at once by break-glass: listed for review afterwards. */
  breakGlass?: { reason: string };
  /** Once run: the answer the requester would have had (202 {jobId} for job endpoints). */
  result?: { status: number; body: unknown; jobId?: string };
  /** Why it did not run when the count was reached (plan moved, role removed...). */
  error?: { code: string; status: number; detail: string };
}

/**
 * GET /v1/approvals: pending first, then recently decided ones. `cursor`
 * names this state of the list: sent back as `since` with `wait`, the
 * request is answered as soon as anything changed (or after `wait` seconds).
 */
export interface ApprovalList {
  approvals: ApprovalView[];
  cursor: string;
}

/**
 * The 202 answer to a request that is held for approval. A retry with the
 * same Idempotency-Key and body gets the same approval in its current state
 * (`Idempotency-Replayed: true`), with `result` or `error` once it ran.
 */
export interface HeldAnswer {
  approval: Pick<ApprovalView, 'id' | 'state' | 'expiresAt' | 'required' | 'digest' | 'endpoint'> & Partial<Pick<ApprovalView, 'result' | 'error'>>;
}

/** The 200 answer to a request sent with Opsctl-Dry-Run: 1. */
export interface DryRunAnswer {
  dryRun: true;
  endpoint: string;
  /** Params as validated (secrets redacted). */
  params: unknown;
  /** What would change: flags {name, from, to}; migrations the plan; tasks the task's dryRun answer. */
  wouldChange: unknown;
  /** Set when the real request would be held for approval. */
  approval?: ApprovalPolicy;
}

export function isHeldAnswer(v: unknown): v is HeldAnswer {
  const a = (v as { approval?: unknown } | null)?.approval as Record<string, unknown> | undefined;
  return typeof a === 'object' && a !== null && typeof a.id === 'string' && typeof a.digest === 'string';
}

export function isDryRunAnswer(v: unknown): v is DryRunAnswer {
  return typeof v === 'object' && v !== null && (v as { dryRun?: unknown }).dryRun === true && typeof (v as { endpoint?: unknown }).endpoint === 'string';
}

/**
 * Endpoints that are POST yet change nothing (a plan is itself a dry-run): a
 * dry-run or break-glass header on them is ignored and they are never held,
 * so a client may send those headers on every non-GET request of a command.
 */
export const READ_ONLY_POSTS: readonly string[] = ['migrations.plan'];

/**
 * Principal names compared the way a person reads them: "Alice", " alice ",
 * the full-width "ａｌｉｃｅ", "aIice" and "аlice" with a Cyrillic а are the
 * same person, so a second key under a look-alike name cannot approve its
 * owner's own request (approval.self) nor pass for a colleague.
 */
export function samePerson(a: string, b: string): boolean {
  return personKey(a) === personKey(b);
}

/**
 * Letters that a terminal or a chat client draws like a Latin letter or
 * digit, folded to it before names are compared: the Cyrillic and Greek
 * look-alikes of Latin letters (the confusables of Unicode's UTS #39 that
 * matter for names), and the ASCII a sans-serif font blurs (i — whose
 * capital I is drawn like an l —, digit 1 and the pipe against l; digit 0
 * against o). Folding only ever makes more names equal, so a collision
 * refuses a grant name (or counts two keys as one person) and never lets a
 * look-alike through.
 */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'l', ї: 'l', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ɡ: 'g', ү: 'y', ո: 'n', ս: 'u',
  // Greek
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'l', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w', ϲ: 'c', ϳ: 'j',
  // ASCII: after lower-casing, i and l stand for one letter (a capital I is drawn as an l)
  i: 'l', '1': 'l', '|': 'l', '0': 'o',
};

/**
 * A name as a person reads it: NFKC, lower case, look-alike letters folded
 * to the Latin letter they pass for, trimmed, inner spaces collapsed. A key
 * to compare, never a name to show.
 */
export function personKey(name: string): string {
  const lower = name.normalize('NFKC').toLowerCase();
  return Array.from(lower, (ch) => LOOK_ALIKES[ch] ?? ch).join('').trim().replace(/\s+/g, ' ');
}
