import { EMPTY_TREE_HASH, nodeHash, splitPoint } from '../../protocol/merkle.js';

/** A growable array of 32-byte hashes in one Buffer (no object per hash). */
class HashArray {
  private buf = Buffer.alloc(32 * 1024);
  length = 0;

  push(h: Buffer): void {
    if ((this.length + 1) * 32 > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.length * 32);
      this.buf = bigger;
    }
    h.copy(this.buf, this.length * 32);
    this.length++;
  }

  at(i: number): Buffer {
    return this.buf.subarray(i * 32, i * 32 + 32);
  }
}

/**
 * The whole RFC 6962 tree of the audit log, kept in memory so proofs cost
 * O(log² n) hashes: level k holds the hash of every complete, aligned
 * subtree of 2^k leaves. Two hashes per record (64 bytes).
 */
export class AuditMerkleTree {
  private readonly levels: HashArray[] = [new HashArray()];

  get size(): number {
    return this.levels[0]!.length;
  }

  push(leaf: Buffer): void {
    this.levels[0]!.push(leaf);
    let k = 0;
    while (this.levels[k]!.length % 2 === 0) {
      const lv = this.levels[k]!;
      const n = lv.length;
      this.levels[k + 1] ??= new HashArray();
      this.levels[k + 1]!.push(nodeHash(lv.at(n - 2), lv.at(n - 1)));
      k++;
    }
  }

  /** Drops leaves from `size` on (a batch that could not be written). */
  truncate(size: number): void {
    let n = size;
    for (const lv of this.levels) {
      lv.length = Math.min(lv.length, n);
      n = Math.floor(n / 2);
    }
  }

  /** MTH of leaves [start, end), from stored complete subtrees where the RFC's split lands on one. */
  readonly subtree = (start: number, end: number): Buffer => {
    const n = end - start;
    if (n === 0) return EMPTY_TREE_HASH;
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const k = Math.log2(n);
      const lv = this.levels[k];
      if (lv && start / n < lv.length) return Buffer.from(lv.at(start / n));
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(start, start + k), this.subtree(start + k, end));
  };

  root(size = this.size): Buffer {
    return this.subtree(0, size);
  }
}
