import fs from 'node:fs';
import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { OperationError } from '../../errors/operation-error.js';
import { UsageError } from '../../errors/usage-error.js';
import { checkAuditCheckpointSignature, type AuditCheckpoint, type AuditConsistencyProof, type AuditRepair, type AuditVerifyResult } from '../../../protocol/audit.js';
import { verifyConsistency } from '../../../protocol/merkle.js';
import { readWitness, writeWitness, type WitnessedCheckpoint } from './witness-state.js';
import { terminalText } from './terminal-text.js';
import { verifyLogFile } from './verify-file.js';

export interface AuditVerifyOptions {
  full?: boolean;
  file?: string;
  key?: string;
  requireKey?: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('verify')
    .description(summaryOf('audit.verify'))
    .option('--full', 'walk the whole log, not only what was added since the newest verified checkpoint')
    .option('--file <log>', 'verify a copied audit log offline (no server): chain, every checkpoint\'s root and signature')
    .option('--key <pubkey>', 'the audit signing key checkpoints must be signed by: an `ssh-ed25519 …` line or a file holding one')
    .option('--require-key', 'refuse to verify without --key (exit 2): without it, the key is whatever the log itself names')
    .addHelpText('after', `${endpointHelp('audit.verify')}
Against a service, verify also acts as a witness: it keeps the newest checkpoint
it verified per context (in $XDG_STATE_HOME/opsctl, 0600) and asks the service
for a consistency proof from it, so a history rewritten behind a checkpoint
already seen fails even when the rewritten chain is consistent in itself.
The witnessed checkpoint is fetched before the walk, so it is always one of
the checkpoints the walk verified: its record count is at most the number of
records verified. The counts: "N records" is every record of the log as it
stood when the walk began (the walk's own request is written after it);
"over the first M" is how many records a checkpoint's Merkle root covers.
-o json prints {ok, records, verifiedFrom, checkpoints, lastCheckpoint,
witness: {checkpoint: {size, …}, previous?}, firstBadRecord?, ...}.
With --file and no --key, checkpoint signatures are checked against the key
the log names itself: that is the log's own claim (whoever rewrote it could
have signed it anew); the service's key is in \`opsctl health\`. Records after
the newest checkpoint are covered by the hash chain only and are counted as
"tail not covered by a checkpoint" (tailNotCovered in -o json).
Exit status 1 when the chain, a checkpoint or the consistency proof fails;
2 under --require-key without --key.`)
    .action(async (opts: AuditVerifyOptions) => run(f, opts));
}

function describeBad(r: AuditVerifyResult): string {
  const b = r.firstBadRecord;
  if (!b) return 'the audit log failed verification';
  return `the audit log is broken at line ${b.line}${b.seq !== undefined ? ` (record seq ${b.seq})` : ''}: ${terminalText(b.reason)}`;
}

function readKey(spec: string): string {
  if (/^ssh-ed25519\s/.test(spec.trim())) return spec.trim();
  try {
    return fs.readFileSync(spec, 'utf8').trim().split('\n')[0]!;
  } catch (e) {
    throw new UsageError(`--key: cannot read ${spec}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const records = (n: number) => `${n} record${n === 1 ? '' : 's'}`;
const checkpoints = (n: number) => `${n} checkpoint${n === 1 ? '' : 's'}`;

/** What one repair record says was cut, for a human. */
function describeRepair(x: AuditRepair): string {
  const cut = x.cutSeqs ? `record(s) ${x.cutSeqs.from}..${x.cutSeqs.to} cut from the tail` : 'the tail was cut';
  const torn = x.tornBytes > 0 ? `, ${x.tornBytes} torn byte(s) moved to ${terminalText(x.tornFile ?? '?')}` : '';
  return `repair at seq ${x.seq}: ${cut}${torn}`;
}

/**
 * One line with every count named for what it counts: the records verified
 * (the whole log as it stood when the walk began; an incremental walk says
 * how many an earlier verify covered), the checkpoints verified on the way,
 * and how many records the newest of them covers.
 */
function summary(r: AuditVerifyResult): string {
  const from = r.verifiedFrom ?? 0;
  const walked = from > 0 && from < r.records ? ` (the first ${from} verified by an earlier walk up to its checkpoint, the last ${r.records - from} now)` : '';
  const cp = r.lastCheckpoint ? `; the newest, of ${terminalText(r.lastCheckpoint.time)}, covers the first ${records(r.lastCheckpoint.size)}` : '';
  const repairs = r.repairs?.length ? `; ${r.repairs.map(describeRepair).join('; ')}` : '';
  return `${records(r.records)} verified${walked}: hash chain intact, ${checkpoints(r.checkpoints ?? 0)} verified${cp}${repairs}`;
}

export async function run(f: Factory, opts: AuditVerifyOptions = {}): Promise<void> {
  if (opts.requireKey && opts.key === undefined) {
    throw new UsageError('--require-key: give --key with the service\'s audit signing key (an `ssh-ed25519 …` line or a file; `opsctl health` shows it)');
  }
  const pinned = opts.key !== undefined ? readKey(opts.key) : undefined;
  if (opts.file !== undefined) return runOffline(f, opts.file, pinned);
  const client = await f.client();
  // The checkpoint first: the walk then covers it (and verifies its root), so
  // the checkpoint witnessed is one of the records just verified. Fetched
  // after, it would cover records the walk never saw (this verify's own).
  const cp = await client.call<AuditCheckpoint>('audit.checkpoint');
  const res = await client.call<AuditVerifyResult>('audit.verify', opts.full ? { full: true } : {});
  const out = await f.output();
  if (!res.ok) {
    out.emit(res, () => f.io.stderr.write(`${out.colors.red('✗')} ${describeBad(res)}\n`));
    throw new OperationError(describeBad(res));
  }
  // The witness check: the service's newest checkpoint, signed, and consistent with the one seen before.
  const ctx = await f.context();
  const target = ctx.name ?? `${[...ctx.bastions, ...ctx.hosts].join('>')}:${ctx.port}`;
  const seen = readWitness(f.io.env, target);
  const pin = pinned ?? seen?.publicKey;
  const why = checkAuditCheckpointSignature(cp, pin);
  if (why) throw new OperationError(`the service's newest audit checkpoint does not verify: ${terminalText(why)}${seen && !pinned ? ' (the key differs from the one that signed the checkpoint seen before)' : ''}`);
  if (seen) await checkConsistent(client, seen, cp);
  writeWitness(f.io.env, target, cp);
  const doc = { ...res, witness: { checkpoint: { size: cp.size, root: cp.root, time: cp.time, keyid: cp.keyid }, ...(seen ? { previous: { size: seen.size, root: seen.root, time: seen.time } } : {}) } };
  out.emit(doc, () => {
    out.success(`audit log intact: ${summary(res)}`);
    const prev = seen ? `consistent with the checkpoint seen at ${terminalText(seen.time)} (over the first ${records(seen.size)})` : 'first checkpoint seen for this context; remembered';
    f.io.stderr.write(`  witness: checkpoint of ${terminalText(cp.time)} over the first ${records(cp.size)} of those, signed by ${terminalText(cp.keyid)}; ${prev}\n`);
  });
}

async function checkConsistent(client: Awaited<ReturnType<Factory['client']>>, seen: WitnessedCheckpoint, cp: AuditCheckpoint): Promise<void> {
  const rewritten = (detail: string) => new OperationError(`history rewritten since the checkpoint seen at ${terminalText(seen.time)} (size ${seen.size}): ${detail}`);
  if (cp.size < seen.size) throw rewritten(`the service's newest checkpoint covers only ${cp.size} record(s)`);
  if (cp.size === seen.size) {
    if (cp.root !== seen.root) throw rewritten('the same number of records has another root');
    return;
  }
  let proof: AuditConsistencyProof;
  try {
    proof = await client.call<AuditConsistencyProof>('audit.consistency', { from: seen.size, to: cp.size });
  } catch (e) {
    throw rewritten(`the service gives no consistency proof (${terminalText((e as Error).message)})`);
  }
  const hashes = Array.isArray(proof.proof) ? proof.proof.filter((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)).map((h) => Buffer.from(h, 'hex')) : [];
  if (hashes.length !== proof.proof?.length) throw rewritten('the consistency proof is malformed');
  if (!verifyConsistency(seen.size, cp.size, Buffer.from(seen.root, 'hex'), Buffer.from(cp.root, 'hex'), hashes)) {
    throw rewritten('the records it covered are no longer the ones in the log (the consistency proof fails)');
  }
}

async function runOffline(f: Factory, file: string, pinned: string | undefined): Promise<void> {
  if (!fs.existsSync(file)) throw new UsageError(`--file: ${file} does not exist`);
  const res = await verifyLogFile(file, pinned);
  const out = await f.output();
  const doc = {
    ok: res.ok,
    records: res.records,
    checkpoints: res.checkpoints,
    lastCheckpoint: res.lastCheckpoint ?? null,
    repairs: res.repairs,
    keyPinned: pinned !== undefined,
    // Without --key, the key is only what the log says about itself.
    key: pinned !== undefined ? 'given' : 'claimed-by-log',
    tailNotCovered: res.tailNotCovered,
    ...(res.firstBadRecord ? { firstBadRecord: res.firstBadRecord } : {}),
  };
  out.emit(doc, () => {
    if (res.ok) {
      out.success(`${terminalText(file)} intact: ${summary(res)}`);
      if (!pinned && res.checkpoints > 0) {
        f.io.stderr.write(`  the key is the log's own claim: checkpoint signatures were checked against the key the log names (${terminalText(res.lastCheckpoint?.keyid ?? '?')}), which whoever rewrote the log could have replaced; pass --key with the service's key (opsctl health shows it)\n`);
      }
      if (res.checkpoints === 0) f.io.stderr.write('  no checkpoint in this log: only the hash chain was checked\n');
      if (res.tailNotCovered > 0) f.io.stderr.write(`  tail not covered by a checkpoint: ${res.tailNotCovered} record${res.tailNotCovered === 1 ? '' : 's'} after the newest checkpoint ${res.tailNotCovered === 1 ? 'is' : 'are'} held by the hash chain only (a copy cut or rewritten there cannot be told from a whole one)\n`);
    } else {
      f.io.stderr.write(`${out.colors.red('✗')} ${describeBad(res)}\n`);
    }
  });
  if (!res.ok) throw new OperationError(describeBad(res));
}
