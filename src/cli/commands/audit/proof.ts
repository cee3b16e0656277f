import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { OperationError } from '../../errors/operation-error.js';
import { UsageError } from '../../errors/usage-error.js';
import { checkAuditCheckpointSignature, type AuditCheckpoint, type AuditInclusionProof } from '../../../protocol/audit.js';
import { leafHash, verifyInclusion } from '../../../protocol/merkle.js';
import { terminalText } from './terminal-text.js';

function parseSeq(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || !Number.isSafeInteger(n)) throw new UsageError(`SEQ must be a record number (1, 2, …), got "${v}"`);
  return n;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('proof')
    .description(summaryOf('audit.proof'))
    .argument('<seq>', 'the record', parseSeq)
    .addHelpText('after', `${endpointHelp('audit.proof')}
Fetches the newest signed checkpoint and the inclusion proof of record SEQ in
it, and checks both here: the signature, the record's leaf hash, the path to
the signed root. -o json prints {seq, size, record, leafHash, root, proof, checkpoint}.
Exit status 1 when the record is not yet covered by a checkpoint or the proof fails.`)
    .action(async (seq: number) => run(f, seq));
}

export async function run(f: Factory, seq: number): Promise<void> {
  const client = await f.client();
  const cp = await client.call<AuditCheckpoint>('audit.checkpoint');
  const why = checkAuditCheckpointSignature(cp);
  if (why) throw new OperationError(`the service's newest audit checkpoint does not verify: ${terminalText(why)}`);
  if (seq > cp.size) throw new OperationError(`record ${seq} is newer than the newest checkpoint (which covers ${cp.size} record(s)); try again after the next checkpoint`);
  const p = await client.call<AuditInclusionProof>('audit.proof', { seq, size: cp.size });
  const hashes = (Array.isArray(p.proof) ? p.proof : []).filter((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)).map((h) => Buffer.from(h, 'hex'));
  if (typeof p.record !== 'string' || !p.record) throw new OperationError(`the service did not return record ${seq} (the log file may have been rotated)`);
  const leaf = leafHash(p.record);
  if (hashes.length !== p.proof.length || !verifyInclusion(seq - 1, cp.size, leaf, hashes, Buffer.from(cp.root, 'hex'))) {
    throw new OperationError(`the inclusion proof of record ${seq} does not lead to the signed root of the checkpoint of ${terminalText(cp.time)}`);
  }
  const out = await f.output();
  const doc = { seq, size: cp.size, record: p.record, leafHash: leaf.toString('hex'), root: cp.root, proof: p.proof, checkpoint: cp };
  out.emit(doc, () => {
    out.success(`record ${seq} is in the audit log: its inclusion proof leads to the signed root of the checkpoint of ${terminalText(cp.time)} (${cp.size} records)`);
    const w = f.io.stdout;
    w.write(`record     ${terminalText(p.record)}\n`);
    w.write(`leaf hash  ${leaf.toString('hex')}\n`);
    w.write(`tree size  ${cp.size}\n`);
    w.write(`root       ${terminalText(cp.root)}\n`);
    w.write(`signed by  ${terminalText(cp.keyid)}\n`);
    w.write(`proof      ${p.proof.length ? p.proof.join('\n           ') : '(empty: a one-record tree)'}\n`);
  });
}
