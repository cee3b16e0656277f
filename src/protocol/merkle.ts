import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 6962 §2.1 (restated in RFC 9162 §2.1), over which the
 * audit log's signed checkpoints are computed (see src/server/README.md,
 * "Audit log"). Hashes are 32-byte Buffers; sizes and indexes are numbers
 * (safe up to 2^53 records).
 */

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({}) = SHA-256() */
export const EMPTY_TREE_HASH = createHash('sha256').digest();

/** MTH({d}) = SHA-256(0x00 || d) */
export function leafHash(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The largest power of two smaller than n (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Something that knows the hash of the subtree over leaves [start, end). */
export type SubtreeHasher = (start: number, end: number) => Buffer;

/** MTH over leaf hashes, by the RFC's recursive definition (reference implementation). */
export function rootOf(leaves: readonly Buffer[]): Buffer {
  return subtreeOfLeaves(leaves)(0, leaves.length);
}

/** A SubtreeHasher over an in-memory list of leaf hashes (the recursive definition). */
export function subtreeOfLeaves(leaves: readonly Buffer[]): SubtreeHasher {
  const mth = (start: number, end: number): Buffer => {
    const n = end - start;
    if (n === 0) return EMPTY_TREE_HASH;
    if (n === 1) return leaves[start]!;
    const k = splitPoint(n);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth;
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path of leaf index m in the tree of size n. */
export function inclusionProof(index: number, size: number, mth: SubtreeHasher): Buffer[] {
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const path = (m: number, start: number, end: number): Buffer[] => {
    const n = end - start;
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, start, start + k), mth(start + k, end)]
      : [...path(m - k, start + k, end), mth(start, start + k)];
  };
  return path(index, 0, size);
}

/** PROOF(m, D[n]) of RFC 6962 §2.1.2: proves the tree of size m is a prefix of the tree of size n. */
export function consistencyProof(m: number, n: number, mth: SubtreeHasher): Buffer[] {
  if (!(Number.isInteger(m) && Number.isInteger(n) && m >= 1 && m <= n)) throw new RangeError(`no consistency proof from size ${m} to size ${n}`);
  const sub = (mm: number, start: number, end: number, b: boolean): Buffer[] => {
    const nn = end - start;
    if (mm === nn) return b ? [] : [mth(start, end)];
    const k = splitPoint(nn);
    return mm <= k
      ? [...sub(mm, start, start + k, b), mth(start + k, end)]
      : [...sub(mm - k, start + k, end, false), mth(start, start + k)];
  };
  return sub(m, 0, n, true);
}

const lsb = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when the proof cannot fit the sizes. */
export function rootFromInclusionProof(index: number, size: number, leaf: Buffer, proof: readonly Buffer[]): Buffer | undefined {
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) return undefined;
    if (sn === 0) return undefined;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2: does `proof` show leaf `index` with hash `leaf` in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: readonly Buffer[], root: Buffer): boolean {
  const r = rootFromInclusionProof(index, size, leaf, proof);
  return r !== undefined && root.length === 32 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (size1, root1) is a prefix of (size2, root2)? */
export function verifyConsistency(size1: number, size2: number, root1: Buffer, root2: Buffer, proof: readonly Buffer[]): boolean {
  if (!(Number.isInteger(size1) && Number.isInteger(size2) && size1 >= 0 && size1 <= size2)) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  if (proof.length === 0 || proof.some((p) => p.length !== 32)) return false;
  const path = [...proof];
  if (splitPoint(size1 + 1) === size1) path.unshift(root1); // size1 is a power of two
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn)) while (!lsb(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return fr.equals(root1) && sr.equals(root2) && sn === 0;
}

/**
 * The compact range of a growing tree: the roots of its complete left
 * subtrees, enough to compute the current root in O(log n) memory. Used to
 * recompute checkpoint roots while walking a log from its start.
 */
export class MerkleFrontier {
  /** (size, hash) of each perfect subtree, left to right, sizes strictly decreasing. */
  private stack: Array<{ size: number; hash: Buffer }> = [];
  size = 0;

  push(leaf: Buffer): void {
    let node = { size: 1, hash: leaf };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { size: left.size * 2, hash: nodeHash(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.size++;
  }

  root(): Buffer {
    if (this.stack.length === 0) return EMPTY_TREE_HASH;
    let r = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i]!.hash, r);
    return r;
  }

  clone(): MerkleFrontier {
    const c = new MerkleFrontier();
    c.stack = this.stack.map((s) => ({ ...s }));
    c.size = this.size;
    return c;
  }
}
