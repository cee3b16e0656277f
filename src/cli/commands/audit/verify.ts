import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { OperationError } from '../../errors/operation-error.js';
import type { AuditVerifyResult } from './audit-types.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('verify')
    .description(summaryOf('audit.verify'))
    .addHelpText('after', `${endpointHelp('audit.verify')}\nExit status 1 when the chain is broken (an edited, deleted or reordered record).`)
    .action(async () => run(f));
}

function describeBad(r: AuditVerifyResult): string {
  const b = r.firstBadRecord;
  if (!b) return 'the audit log failed verification';
  return `the audit log is broken at line ${b.line}${b.seq !== undefined ? ` (record seq ${b.seq})` : ''}: ${b.reason}`;
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const res = await client.call<AuditVerifyResult>('audit.verify');
  const out = await f.output();
  out.emit(res, () => {
    if (res.ok) out.success(`audit log intact: ${res.records} record(s), hash chain verified`);
    else f.io.stderr.write(`${out.colors.red('✗')} ${describeBad(res)}\n`);
  });
  if (!res.ok) throw new OperationError(describeBad(res));
}
