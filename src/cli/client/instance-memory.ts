/**
 * What opsctl remembers of each port's instance id between runs, so that a
 * command's first request is already signed for the instance that will
 * receive it (docs/security.md, "Replay"). Without it every opsctl process
 * pays one extra round trip and leaves a denied `auth.instance` record in the
 * service's audit log before its real request.
 *
 * The id is not a secret — the port sends it on every answer — and a stale
 * one costs exactly what no memory costs: one 401 and a request signed again.
 * One small file per target (0600 in a 0700 directory, replaced by rename),
 * so the hosts of a fleet never write the same file.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { privateStateDir, usePrivateDir } from '../config/private-dir.js';
import { readPrivateFile, writePrivateFile } from '../config/private-file.js';

export interface InstanceMemory {
  /** The id this target last answered with, if opsctl has seen one. */
  readonly initial: string | undefined;
  /** Records the id the target answered with (only when it changed). */
  remember(id: string): void;
}

/** The target a memory belongs to: the route and port as the operator named them. */
export function instanceTarget(bastions: readonly string[], host: string, port: number): string {
  return `${bastions.join(',')}>${host}:${port}`;
}

// The ids the port issues are short base64url/hex tokens; anything else read
// back from the file is ignored rather than sent in a header.
const ID = /^[A-Za-z0-9_-]{8,128}$/;

export function instanceMemory(env: Record<string, string | undefined>, target: string): InstanceMemory {
  const name = createHash('sha256').update(target).digest('hex').slice(0, 32);
  // Checked before anything in it is read (README, "Local files"); no safe
  // state dir means no memory, which costs one round trip.
  let dir: string | undefined;
  try {
    const d = usePrivateDir(path.join(privateStateDir(env), 'instances'));
    if ('dir' in d) dir = d.dir;
  } catch {
    dir = undefined;
  }
  const file = dir ? path.join(dir, name) : undefined;
  let initial: string | undefined;
  const v = file ? readPrivateFile(file)?.trim() : undefined;
  if (v !== undefined && ID.test(v)) initial = v;
  let last = initial;
  return {
    initial,
    remember(id) {
      if (id === last || !ID.test(id)) return;
      last = id;
      if (!file) return;
      try {
        writePrivateFile(file, `${id}\n`);
      } catch {
        // Only a cache: a read-only or full state dir costs one round trip next time.
      }
    },
  };
}
