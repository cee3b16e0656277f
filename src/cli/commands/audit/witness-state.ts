import fs from 'node:fs';
import path from 'node:path';
import { stateDir } from '../../config/paths.js';
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

export function witnessFile(env: Record<string, string | undefined>): string {
  return path.join(stateDir(env), 'audit-checkpoints.json');
}

export function readWitness(env: Record<string, string | undefined>, target: string): WitnessedCheckpoint | undefined {
  try {
    const doc = JSON.parse(fs.readFileSync(witnessFile(env), 'utf8')) as WitnessFile;
    const w = doc.targets?.[target];
    return w && Number.isInteger(w.size) && typeof w.root === 'string' ? w : undefined;
  } catch {
    return undefined;
  }
}

/** Records `c` as the newest verified checkpoint of `target` (file 0600 in a 0700 dir, replaced atomically). */
export function writeWitness(env: Record<string, string | undefined>, target: string, c: AuditCheckpoint): void {
  const file = witnessFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let doc: WitnessFile = { version: 1, targets: {} };
  try {
    const old = JSON.parse(fs.readFileSync(file, 'utf8')) as WitnessFile;
    if (old && typeof old.targets === 'object') doc = old;
  } catch {
    // first witness
  }
  doc.targets[target] = { size: c.size, root: c.root, time: c.time, seq: c.seq, keyid: c.keyid, publicKey: c.publicKey, seenAt: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}
