/**
 * Property test: random sequences of request / retry / approve / reject /
 * expire / grant / revoke / access request / restart against a real port
 * (createInternalPort on loopback, real signed HTTP), checked against a
 * model the test keeps of its own:
 *
 *   - no request runs twice: every logical request carries a unique tag,
 *     and each tag runs at most once, whatever is retried;
 *   - a retry with the same Idempotency-Key and body gets the same approval,
 *     another body under the key is 422;
 *   - no approval without a second person: every approval that ran was
 *     approved by enough keys whose holders — worked out from who actually
 *     sent each grants.create / access request, not from the names the
 *     server shows — are neither the requester nor each other, nor
 *     authority that comes from them;
 *   - no authority outlives its source: a key never acts with a role that
 *     no live grant of the model gives it (a grant is dead once it, or any
 *     grant it was made under, was revoked or has expired).
 *
 * Seeded: OPSCTL_PROPERTY_SEED=<n> replays a run (timing still varies); the
 * seed is printed on failure. Bounded steps, so it runs in seconds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { TaskDefinition } from '../../src/server/index.js';
import { SignedClient, makeKey, writeAllowlist, type TestKey, type TestResponse } from '../helpers/signed-client.js';
import { startHarness, tempDir, type Harness } from '../server/fixtures/harness.js';

const STEPS = Number(process.env.OPSCTL_PROPERTY_STEPS ?? 160);
const EXPIRY_SECONDS = 3;
const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = typeof ROLES[number];
const rank = (r: string) => ROLES.indexOf(r as Role);

/** mulberry32: small, fast, good enough to drive a test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const runs: string[] = [];
const tasks: TaskDefinition[] = [1, 2].map((count) => ({
  name: `purge${count}`, summary: `needs ${count}`, role: 'admin', destructive: false,
  params: { type: 'object', properties: { tag: { type: 'string' } }, required: ['tag'], additionalProperties: false },
  approval: { count, role: 'admin' },
  async handler(params: Record<string, unknown>) { runs.push(String(params.tag)); return { tag: params.tag }; },
}));

const keyDir = tempDir('opsctl-property-keys-');
const allowlisted: Array<[TestKey, Role]> = [
  [makeKey(keyDir, 'bob-admin'), 'admin'],
  [makeKey(keyDir, 'carol-admin'), 'admin'],
  [makeKey(keyDir, 'dave-viewer'), 'viewer'],
];
// Keys on no allowlist: whoever grants one may be holding it.
const spares = [1, 2, 3, 4].map((i) => makeKey(keyDir, `spare-${i}`));

let h: Harness;
before(async () => {
  h = await startHarness({ tasks, approvals: { expirySeconds: EXPIRY_SECONDS, maxPendingPerRequester: 50 } }, { keysDir: keyDir });
  writeAllowlist(h.allowlistFile, [[h.keys.admin, 'admin'], [h.keys.operator, 'operator'], [h.keys.viewer], ...allowlisted]);
  const t = new Date(Date.now() + 2000);
  fs.utimesSync(h.allowlistFile, t, t);
});
after(() => h.close());

interface ModelGrant {
  id: string;
  keyid: string;
  role: Role;
  expiresAt: number;
  /** Who sent grants.create (or, for an access request, who asked), and the grant it acted under. */
  creator: { keyid: string; grantId?: string | undefined };
  /** Access requests: the approvers (each with the grant it acted under). */
  approvers?: Array<{ keyid: string; grantId?: string | undefined }>;
  /** When the test got the answer of a revocation of it, if any. */
  revokedAt?: number;
}

interface Signer { keyid: string; grantId?: string | undefined }

test('random sequences keep the invariants', { timeout: 120_000 }, async () => {
  const seed = Number(process.env.OPSCTL_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const log: string[] = [];
  const verbose = process.env.OPSCTL_PROPERTY_VERBOSE === '1';
  const note = (s: string) => {
    log.push(s);
    if (log.length > 40) log.shift();
    if (verbose) process.stdout.write(`# ${s}\n`);
  };

  const owners = new Map<string, string>([[h.keys.admin.keyid, 'alice-admin'], [h.keys.operator.keyid, 'oscar-operator'], [h.keys.viewer.keyid, 'vera-viewer'], ...allowlisted.map(([k]) => [k.keyid, k.name] as [string, string])]);
  const allowRole = new Map<string, Role>([[h.keys.admin.keyid, 'admin'], [h.keys.operator.keyid, 'operator'], [h.keys.viewer.keyid, 'viewer'], ...allowlisted.map(([k, r]) => [k.keyid, r] as [string, Role])]);
  const keys: TestKey[] = [h.keys.admin, h.keys.operator, h.keys.viewer, ...allowlisted.map(([k]) => k), ...spares];
  const client = (k: TestKey) => new SignedClient({ host: '127.0.0.1', port: h.port.port! }, k);
  const grants = new Map<string, ModelGrant>();
  /** Idempotency bindings the server answered 202 for: (keyid, key) → the body's tag and the approval. */
  const bound = new Map<string, { tag: string; task: string; approvalId: string }>();
  const approvals = new Map<string, { digest: string; required: number; requester: string }>();
  let tagNo = 0;
  const counts = { held: 0, retried: 0, mismatched: 0, approved: 0, executed: 0, granted: 0, cascaded: 0, refused: 0 };

  // ---- the model ---------------------------------------------------------
  const live = (id: string | undefined, at: number, depth = 0): boolean => {
    if (!id) return true;
    const g = grants.get(id);
    if (!g || depth > 64) return false;
    if (g.revokedAt !== undefined && g.revokedAt <= at) return false;
    if (at >= g.expiresAt) return false;
    return live(g.creator.grantId, at, depth + 1) && (g.approvers ?? []).every((a) => live(a.grantId, at, depth + 1));
  };
  /** The person who holds a key acting under a grant: allowlisted → its owner; else whoever made the grant, recursively. */
  const holder = (s: Signer, depth = 0): string => {
    const own = owners.get(s.keyid);
    if (own) return own;
    const g = s.grantId ? grants.get(s.grantId) : undefined;
    if (!g || depth > 64) return `unknown:${s.keyid}`;
    return holder(g.creator, depth + 1);
  };
  /** Every person a signer's authority comes from through grants. */
  const sources = (s: Signer, depth = 0): Set<string> => {
    const out = new Set<string>();
    const g = s.grantId ? grants.get(s.grantId) : undefined;
    if (!g || depth > 64) return out;
    const from = g.approvers ?? [g.creator];
    for (const a of from) {
      out.add(holder(a));
      for (const p of sources(a, depth + 1)) out.add(p);
    }
    if (g.approvers) for (const p of sources(g.creator, depth + 1)) out.add(p);
    return out;
  };
  const personsOf = (s: Signer) => new Set([holder(s), ...sources(s)]);

  const fail = (what: string): never => {
    assert.fail(`${what}\nseed ${seed} (replay: OPSCTL_PROPERTY_SEED=${seed}); last steps:\n  ${log.join('\n  ')}`);
  };

  /** An approval that ran: requester and counted approvers are distinct persons, enough of them. */
  const checked = new Set<string>();
  const checkExecuted = (view: Record<string, any>): void => {
    if (checked.has(view.id)) return;
    checked.add(view.id);
    const requester: Signer = { keyid: view.requester.keyid, grantId: view.requester.grantId };
    const who = holder(requester);
    const counted: Signer[] = view.approvers.map((a: Record<string, any>) => ({ keyid: a.keyid, grantId: a.grantId }));
    if (counted.length < view.required) fail(`approval ${view.id} ran with ${counted.length} of ${view.required} approvals`);
    for (const a of counted) {
      if (personsOf(a).has(who)) fail(`approval ${view.id}: approver ${a.keyid} (${[...personsOf(a)].join(', ')}) is the requester ${who} again`);
    }
    for (let i = 0; i < counted.length; i++) {
      for (let j = i + 1; j < counted.length; j++) {
        const pi = personsOf(counted[i]!);
        const pj = personsOf(counted[j]!);
        if (pi.has(holder(counted[j]!)) || pj.has(holder(counted[i]!))) fail(`approval ${view.id}: two counted approvals from one person (${[...pi].join(', ')} / ${[...pj].join(', ')})`);
      }
    }
    counts.executed++;
  };

  /** Learns what an approval that ran produced (an access request's grant). */
  const learnExecuted = (view: Record<string, any>): void => {
    checkExecuted(view);
    const g = view.result?.body?.grant;
    if (view.endpoint === 'grants.request' && g && !grants.has(g.id)) {
      grants.set(g.id, {
        id: g.id, keyid: g.keyid, role: g.role, expiresAt: Date.parse(g.expiresAt),
        creator: { keyid: view.requester.keyid, grantId: view.requester.grantId },
        approvers: view.approvers.map((a: Record<string, any>) => ({ keyid: a.keyid, grantId: a.grantId })),
      });
    }
  };

  /** No key acts with a role that no live grant (or its allowlist line) gives it. */
  const checkAuthority = async (k: TestKey): Promise<void> => {
    const t0 = Date.now();
    const r = await client(k).call('whoami');
    if (r.status !== 200) return;
    const role = r.json.role as Role;
    const base = allowRole.get(k.keyid);
    if (base && rank(base) >= rank(role)) return;
    const backing = [...grants.values()].some((g) => g.keyid === k.keyid && rank(g.role) >= rank(role) && live(g.id, t0));
    if (!backing) fail(`${k.name} acts as ${role} (grant ${r.json.grant?.id}) but no live grant of the model gives it that`);
  };

  const expectOneOf = (r: TestResponse, statuses: number[], what: string) => {
    if (!statuses.includes(r.status)) fail(`${what}: unexpected ${r.status} ${r.text.slice(0, 300)}`);
  };

  // ---- the actions -------------------------------------------------------
  // Mostly keys that may hold the role (admins, and spares that may have been granted it).
  const likely = () => {
    if (rnd() >= 0.8) return pick(keys);
    const now = Date.now();
    const granted = keys.filter((k) => [...grants.values()].some((g) => g.keyid === k.keyid && live(g.id, now)));
    return pick([h.keys.admin, allowlisted[0]![0], allowlisted[1]![0], ...granted, ...granted]);
  };
  const request = async () => {
    const k = likely();
    const task = pick(['purge1', 'purge2']);
    const idem = rnd() < 0.8 ? `k${Math.floor(rnd() * 3)}` : undefined;
    const slot = idem ? bound.get(`${k.keyid}\u0000${idem}`) : undefined;
    const retry = slot && rnd() < 0.7;
    const tag = retry ? slot.tag : `t${++tagNo}`;
    const useTask = retry ? slot.task : task;
    const r = await client(k).call('tasks.run', { name: useTask, params: { tag } }, idem ? { headers: { 'idempotency-key': idem } } : {});
    note(`${k.name} ${useTask} ${tag} key=${idem ?? '-'}${retry ? ' (retry)' : slot ? ' (other body)' : ''} → ${r.status} ${r.json?.code ?? r.json?.approval?.state ?? ''}`);
    if (r.status === 401 || r.status === 403 || r.status === 429) { counts.refused++; return; }
    if (slot && !retry) {
      // The key is bound to another request: 422, whatever the approval's stage.
      if (r.status !== 422) fail(`another body under bound key ${idem} of ${k.name} got ${r.status}, not 422`);
      counts.mismatched++;
      return;
    }
    expectOneOf(r, [202, 422], 'tasks.run');
    if (r.status === 422) {
      // Only a key used before may be refused; it must be in the model then (or it ran: not in this test).
      if (!slot) fail(`fresh key ${idem} of ${k.name} refused as a mismatch`);
      return;
    }
    const a = r.json.approval;
    if (slot) {
      if (a.id !== slot.approvalId) fail(`retry under ${idem} of ${k.name} got approval ${a.id}, not ${slot.approvalId}`);
      if (r.headers['idempotency-replayed'] !== 'true') fail('a retry is not marked as a replay');
      counts.retried++;
      if (a.state === 'executed') checkExecuted((await h.viewer.call('approvals.get', { id: a.id })).json);
      return;
    }
    if (a.state !== 'pending') fail(`a new request came back ${a.state}`);
    counts.held++;
    approvals.set(a.id, { digest: a.digest, required: a.required, requester: k.keyid });
    if (idem) bound.set(`${k.keyid}\u0000${idem}`, { tag, task: useTask, approvalId: a.id });
  };

  const approve = async (reject = false) => {
    const ids = [...approvals.keys()];
    if (!ids.length) return;
    const id = pick(ids);
    const k = likely();
    const r = reject
      ? await client(k).call('approvals.reject', { id })
      : await client(k).call('approvals.approve', { id, digest: approvals.get(id)!.digest });
    note(`${k.name} ${reject ? 'rejects' : 'approves'} ${id} → ${r.status} ${r.json?.code ?? r.json?.approval?.state ?? ''}${r.json?.counted === false ? ' (not counted)' : ''}`);
    if (r.status !== 200) {
      expectOneOf(r, [401, 403, 404, 409, 410, 412], 'approve/reject');
      // A run refused (requester's role gone) fails the approval; it is done with.
      if (r.status === 409 || r.status === 410) approvals.delete(id);
      if (r.json?.approval?.state === 'failed') approvals.delete(id);
      return;
    }
    const view = r.json.approval;
    if (!reject && r.json.counted) counts.approved++;
    if (view.state === 'executed') {
      learnExecuted(view);
      approvals.delete(id);
    } else if (view.state !== 'pending') {
      approvals.delete(id);
    }
  };

  const grant = async () => {
    const by = likely();
    const to = pick([...spares, allowlisted[2]![0]]);
    const role = pick(['admin', 'admin', 'operator'] as const);
    const ttl = 2 + Math.floor(rnd() * 40);
    const taken = rnd() < 0.1;
    const principal = taken ? pick(['bob-admin', 'Carol-Admin', 'alice-admin']) : `${to.name}-${Math.floor(rnd() * 1e6)}`;
    const t0 = Date.now();
    const meBefore = await client(by).call('whoami');
    const r = await client(by).call('grants.create', { publicKey: to.publicLine, role, ttlSeconds: ttl, reason: 'property', ...(owners.has(to.keyid) ? {} : { principal }) });
    note(`${by.name} grants ${to.name} ${role} ${ttl}s${taken ? ` as ${principal}` : ''} → ${r.status} ${r.json?.code ?? r.json?.grant?.id ?? ''}`);
    if (r.status === 201) {
      if (taken && !owners.has(to.keyid)) fail(`a grant was allowed to carry the allowlisted name ${principal}`);
      const g = r.json.grant;
      const parent = (g.parentGrants ?? [])[0] as string | undefined;
      // The model's own view of the grant the granter acted under (what whoami said just before).
      const granterGrant = meBefore.status === 200 ? meBefore.json.grant?.id : undefined;
      if (granterGrant !== parent && !(granterGrant && !grants.has(granterGrant))) fail(`grant ${g.id} was made under ${parent ?? 'nothing'}, but its granter acted under ${granterGrant ?? 'nothing'}`);
      if (parent && grants.has(parent) && Date.parse(g.expiresAt) > grants.get(parent)!.expiresAt) fail(`grant ${g.id} outlives its parent ${parent}`);
      if (parent && !live(parent, t0 - 1) && grants.get(parent)?.revokedAt !== undefined) fail(`grant ${g.id} was made under ${parent}, revoked before`);
      grants.set(g.id, { id: g.id, keyid: g.keyid, role: g.role, expiresAt: Date.parse(g.expiresAt), creator: { keyid: by.keyid, grantId: parent } });
      counts.granted++;
      await checkAuthority(to);
    } else {
      expectOneOf(r, [400, 401, 403, 409], 'grants.create');
      if (r.status === 409 && !taken) fail(`a fresh name was refused: ${r.text}`);
    }
  };

  const revoke = async () => {
    const ids = [...grants.values()].filter((g) => g.revokedAt === undefined).map((g) => g.id);
    if (!ids.length) return;
    const id = pick(ids);
    const by = pick(keys);
    const r = await client(by).call('grants.revoke', { id });
    note(`${by.name} revokes ${id} → ${r.status} ${r.json?.code ?? (r.json?.revoked ? `revoked, ${r.json.ended.length} ended with it` : 'already ended')}`);
    if (r.status !== 200) { expectOneOf(r, [401, 403, 404], 'grants.revoke'); return; }
    grants.get(id)!.revokedAt = Date.now();
    counts.cascaded += r.json.ended.length;
    // Everything made under it is dead on the very next request.
    for (const k of spares) await checkAuthority(k);
    await checkAuthority(allowlisted[2]![0]);
  };

  const accessRequest = async () => {
    const k = pick([...spares, allowlisted[2]![0], h.keys.viewer]);
    const r = await client(k).call('grants.request', { role: pick(['operator', 'admin'] as const), ttlSeconds: 30, reason: 'property' });
    note(`${k.name} asks for access → ${r.status} ${r.json?.code ?? r.json?.approval?.id ?? ''}`);
    if (r.status === 202) approvals.set(r.json.approval.id, { digest: r.json.approval.digest, required: r.json.approval.required, requester: k.keyid });
    else expectOneOf(r, [401, 403, 429], 'grants.request');
  };

  // ---- the run -----------------------------------------------------------
  for (let step = 0; step < STEPS; step++) {
    const x = rnd();
    if (x < 0.3) await request();
    else if (x < 0.55) await approve();
    else if (x < 0.6) await approve(true);
    else if (x < 0.75) await grant();
    else if (x < 0.83) await revoke();
    else if (x < 0.9) await accessRequest();
    else if (x < 0.92) {
      note(`wait ${EXPIRY_SECONDS}s: pending approvals expire`);
      await new Promise((r) => setTimeout(r, EXPIRY_SECONDS * 1000 + 100));
    } else if (x < 0.93) {
      note('restart');
      await h.restart();
    } else {
      for (const k of [...spares, allowlisted[2]![0]]) await checkAuthority(k);
    }
  }

  // Every approval that ran, as the server lists it, passes the person rule.
  const all = (await h.viewer.call('approvals.list')).json.approvals as Array<Record<string, any>>;
  for (const v of all) if (v.state === 'executed' && !v.breakGlass) learnExecuted(v);
  // Jobs started by approvals finish; then no tag ran twice.
  for (let i = 0; i < 200; i++) {
    const jobs = (await h.viewer.call('jobs.list')).json.jobs as Array<{ state: string }>;
    if (!jobs.some((j) => j.state === 'queued' || j.state === 'running')) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const seen = new Set<string>();
  for (const t of runs) {
    if (seen.has(t)) fail(`request ${t} ran twice`);
    seen.add(t);
  }
  for (const k of [...spares, allowlisted[2]![0]]) await checkAuthority(k);
  assert.equal((await h.admin.call('audit.verify')).json.ok, true, `audit chain broken (seed ${seed})`);
  process.stdout.write(`# seed ${seed}: ${STEPS} steps, ${JSON.stringify(counts)}, ${runs.length} run(s)\n`);
  // A run that exercised nothing proves nothing.
  assert.ok(counts.held > 5 && counts.granted > 3, `too little happened (seed ${seed}): ${JSON.stringify(counts)}`);
});
