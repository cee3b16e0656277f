/**
 * Which host of a fleet runs which job (docs/fleet.md, "Jobs in a fleet"). A
 * job lives on the one replica that started it, and its id says nothing about
 * where that is; so when a fleet command starts or lists jobs, opsctl notes
 * each id with the route to its host, and `jobs status|logs|wait|cancel ID`
 * goes straight there. An id it has not seen is looked for on every host.
 *
 * Only a cache of facts the operator already saw (ids and host names, no
 * secrets): one 0600 file in the 0700 state dir, replaced by rename, the
 * newest MAX_ENTRIES ids kept. A lost or stale entry costs one look-up on
 * every host.
 */
import path from 'node:path';
import { privateStateDir } from '../config/private-dir.js';
import { readPrivateFile, writePrivateFile } from '../config/private-file.js';
import { instanceTarget } from '../client/instance-memory.js';
import type { Factory } from '../factory.js';
import { currentTarget } from './target-scope.js';

type Env = Record<string, string | undefined>;

interface Entry {
  id: string;
  /** instanceTarget(bastions, host, port): the route, so another context's host of the same name never matches. */
  target: string;
  host: string;
  at: string;
}

const MAX_ENTRIES = 2000;
// Job ids are letters and digits (src/server/random-id.ts); anything else is not stored or trusted.
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** In the checked state dir (README, "Local files"); throws UnsafeDirError when there is none. */
function file(env: Env): string {
  return path.join(privateStateDir(env), 'job-hosts.json');
}

/** Oldest first. */
function read(env: Env): Entry[] {
  try {
    const v = JSON.parse(readPrivateFile(file(env)) ?? '{}') as { jobs?: unknown };
    return Array.isArray(v?.jobs) ? (v.jobs as Entry[]).filter((e) => typeof e?.id === 'string' && typeof e.target === 'string' && typeof e.host === 'string') : [];
  } catch {
    return [];
  }
}

function write(env: Env, entries: Entry[]): void {
  try {
    writePrivateFile(file(env), JSON.stringify({ jobs: entries.slice(-MAX_ENTRIES) }));
  } catch {
    // Only a cache: without it the next look-up asks every host.
  }
}

/** Notes that these jobs run on `host` (reached by `target`). */
export function rememberJobHost(env: Env, jobIds: readonly string[], host: string, target: string): void {
  const ids = new Set(jobIds.filter((id) => JOB_ID.test(id)));
  if (!ids.size) return;
  const at = new Date().toISOString();
  write(env, [...read(env).filter((e) => !ids.has(e.id)), ...[...ids].map((id) => ({ id, target, host, at }))]);
}

/** The host of `jobId` among `hosts` (each reached by `targetOf(host)`), if opsctl noted one. */
export function recallJobHost(env: Env, jobId: string, hosts: readonly string[], targetOf: (host: string) => string): string | undefined {
  const e = read(env).findLast((x) => x.id === jobId);
  return e ? hosts.find((h) => targetOf(h) === e.target) : undefined;
}

/** Drops a noted host that no longer knows the job (restarted, job forgotten). */
export function forgetJobHost(env: Env, jobId: string): void {
  const all = read(env);
  if (all.some((e) => e.id === jobId)) write(env, all.filter((e) => e.id !== jobId));
}

/**
 * Notes where jobs a command just saw run: the host it runs for in a fleet,
 * or the one host of a single-host context.
 */
export async function noteJobHosts(f: Factory, jobIds: readonly string[]): Promise<void> {
  try {
    const ctx = await f.context();
    const host = currentTarget()?.host ?? (ctx.hosts.length === 1 ? ctx.hosts[0] : undefined);
    if (host) rememberJobHost(f.io.env, jobIds, host, instanceTarget(ctx.bastions, host, ctx.port));
  } catch {
    // No context, no note: the command itself already worked.
  }
}
