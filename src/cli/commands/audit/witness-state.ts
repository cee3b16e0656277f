import path from 'node:path';
import { stateDir } from '../../config/paths.js';
import { privateStateDir } from '../../config/private-dir.js';
import { readPrivateFile, writePrivateFile } from '../../config/private-file.js';
import type { AuditCheckpoint } from '../../../protocol/audit.js';

/** The newest checkpoint `opsctl audit verify` verified for one target, and the key that signed it. */
export interface WitnessedCheckpoint {
  size: number;
  root: string;
  time: string;
  seq: number;
  keyid: string;
  publicKey: string;
  /** When this opsctl saw it. */
  seenAt: string;
}

interface WitnessFile {
  version: 1;
  targets: Record<string, WitnessedCheckpoint>;
}

/** Where the witness state lives when the state dir is the usual one (for messages and tests). */
export function witnessFile(env: Record<string, string | undefined>): string {
  return path.join(stateDir(env), 'audit-checkpoints.json');
}

/** The file in the checked state dir (README, "Local files"); UnsafeDirError when there is none. */
function checkedWitnessFile(env: Record<string, string | undefined>): string {
  return path.join(privateStateDir(env), 'audit-checkpoints.json');
}

export function readWitness(env: Record<string, string | undefined>, target: string): WitnessedCheckpoint | undefined {
  try {
    const doc = JSON.parse(readPrivateFile(checkedWitnessFile(env)) ?? '{}') as WitnessFile;
    const w = doc.targets?.[target];
    return w && Number.isInteger(w.size) && typeof w.root === 'string' ? w : undefined;
  } catch {
    return undefined;
  }
}

/** Records `c` as the newest verified checkpoint of `target` (file 0600 in a 0700 dir, replaced atomically). */
export function writeWitness(env: Record<string, string | undefined>, target: string, c: AuditCheckpoint): void {
  const file = checkedWitnessFile(env);
  let doc: WitnessFile = { version: 1, targets: {} };
  try {
    const old = JSON.parse(readPrivateFile(file) ?? '') as WitnessFile;
    if (old && typeof old.targets === 'object') doc = old;
  } catch {
    // first witness
  }
  doc.targets[target] = { size: c.size, root: c.root, time: c.time, seq: c.seq, keyid: c.keyid, publicKey: c.publicKey, seenAt: new Date().toISOString() };
  writePrivateFile(file, JSON.stringify(doc, null, 2) + '\n');
}
