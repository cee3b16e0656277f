/**
 * The Merkle tree code against RFC 6962's reference vectors, not against
 * itself. The leaves, tree heads, inclusion and consistency proofs below
 * are copied from the Certificate Transparency reference tests:
 * transparency-dev/merkle, proof/verify_test.go (`leaves`, `roots`,
 * `inclusionProofs`, `consistencyProofs`; the same data as
 * google/certificate-transparency cpp/merkletree/merkle_tree_test.cc).
 * Their inclusion vectors number leaves from 1; RFC 6962's PATH() from 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_TREE_HASH, MerkleFrontier, consistencyProof, inclusionProof, leafHash, rootOf, subtreeOfLeaves, verifyConsistency, verifyInclusion,
} from '../../src/protocol/merkle.js';
import { AuditMerkleTree } from '../../src/server/audit/merkle-tree.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION: Array<[leaf1: number, size: number, proof: string[]]> = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [2, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CONSISTENCY: Array<[size1: number, size2: number, proof: string[]]> = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];
const leafHashes = LEAVES.map((l) => leafHash(l));
const mth = subtreeOfLeaves(leafHashes);

test('tree heads match the reference roots for sizes 0..8 (reference recursion, frontier and the server\'s stored tree)', () => {
  assert.equal(rootOf([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.ok(EMPTY_TREE_HASH.equals(rootOf([])));
  const f = new MerkleFrontier();
  const t = new AuditMerkleTree();
  for (let n = 1; n <= 8; n++) {
    f.push(leafHashes[n - 1]!);
    t.push(leafHashes[n - 1]!);
    assert.equal(rootOf(leafHashes.slice(0, n)).toString('hex'), ROOTS[n - 1], `size ${n}`);
    assert.equal(f.root().toString('hex'), ROOTS[n - 1], `frontier size ${n}`);
    for (let m = 1; m <= n; m++) assert.equal(t.root(m).toString('hex'), ROOTS[m - 1], `stored tree size ${m} of ${n}`);
  }
  t.truncate(5);
  assert.equal(t.root().toString('hex'), ROOTS[4], 'truncate rolls back');
});

test('inclusion proofs: generated exactly as the reference, verified, and every mutation refused', () => {
  for (const [leaf1, size, proof] of INCLUSION) {
    const index = leaf1 - 1;
    assert.deepEqual(inclusionProof(index, size, mth).map((b) => b.toString('hex')), proof, `PATH(${index}, ${size})`);
    const root = hex(ROOTS[size - 1]!);
    const p = proof.map(hex);
    assert.ok(verifyInclusion(index, size, leafHashes[index]!, p, root));
    assert.ok(!verifyInclusion(index + 1, size, leafHashes[index]!, p, root), 'wrong index');
    assert.ok(!verifyInclusion(index, size * 2, leafHashes[index]!, p, root), 'wrong size');
    assert.ok(!verifyInclusion(index, size, leafHash('x'), p, root), 'wrong leaf');
    assert.ok(!verifyInclusion(index, size, leafHashes[index]!, [...p, root], root), 'trailing garbage');
    assert.ok(!verifyInclusion(index, size, leafHashes[index]!, p.slice(1), root), 'removed component');
    for (let i = 0; i < p.length; i++) {
      const bad = p.map((x) => Buffer.from(x));
      bad[i]![0] = bad[i]![0]! ^ 8;
      assert.ok(!verifyInclusion(index, size, leafHashes[index]!, bad, root), `flipped bit in proof[${i}]`);
    }
  }
});

test('consistency proofs: generated exactly as the reference, verified, and every mutation refused', () => {
  for (const [m, n, proof] of CONSISTENCY) {
    assert.deepEqual(consistencyProof(m, n, mth).map((b) => b.toString('hex')), proof, `PROOF(${m}, ${n})`);
    const r1 = hex(ROOTS[m - 1]!);
    const r2 = hex(ROOTS[n - 1]!);
    const p = proof.map(hex);
    assert.ok(verifyConsistency(m, n, r1, r2, p), `${m} -> ${n}`);
    if (p.length === 0) continue;
    assert.ok(!verifyConsistency(m, n, r2, r1, p), 'swapped roots');
    assert.ok(!verifyConsistency(m - 1 || 2, n, r1, r2, p), 'wrong size1');
    assert.ok(!verifyConsistency(m, n * 2, r1, r2, p), 'wrong size2');
    assert.ok(!verifyConsistency(m, n, r1, r2, []), 'empty proof');
    assert.ok(!verifyConsistency(m, n, r1, r2, [...p, r1]), 'trailing root');
    assert.ok(!verifyConsistency(m, n, r1, r2, p.slice(0, -1)), 'truncated');
    for (let i = 0; i < p.length; i++) {
      const bad = p.map((x) => Buffer.from(x));
      bad[i]![0] = bad[i]![0]! ^ 16;
      assert.ok(!verifyConsistency(m, n, r1, r2, bad), `flipped bit in proof[${i}]`);
    }
  }
});

test('beyond the vectors: every inclusion and consistency proof of trees up to 40 leaves verifies, from the stored tree too', () => {
  const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from([i, i * 7 & 255])));
  const ref = subtreeOfLeaves(many);
  const t = new AuditMerkleTree();
  for (const l of many) t.push(l);
  for (let n = 1; n <= 40; n++) {
    const root = rootOf(many.slice(0, n));
    for (let i = 0; i < n; i++) {
      const p = inclusionProof(i, n, t.subtree);
      assert.deepEqual(p, inclusionProof(i, n, ref));
      assert.ok(verifyInclusion(i, n, many[i]!, p, root), `leaf ${i} of ${n}`);
    }
    for (let m = 1; m <= n; m++) {
      const p = consistencyProof(m, n, t.subtree);
      assert.ok(verifyConsistency(m, n, rootOf(many.slice(0, m)), root, p), `${m} -> ${n}`);
    }
  }
});
