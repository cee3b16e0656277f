import type { DryRunAnswer } from '../../protocol/approvals.js';
import type { Factory } from '../factory.js';
import { commandDone } from './command-done.js';
import { planLines } from './describe-approval.js';
import { safeLine } from './terminal-text.js';

/**
 * Prints the server's dry-run answer (the one JSON document under -o json)
 * and ends the command: nothing was applied, so there is nothing to follow.
 */
export async function showDryRun(f: Factory, answer: DryRunAnswer): Promise<never> {
  const out = await f.output();
  out.emit(answer, () => {
    const c = out.colors;
    const w = answer.wouldChange as Record<string, unknown> | null;
    out.note(c.cyan(`dry-run of ${safeLine(answer.endpoint)}: checked by the server, nothing was changed`));
    if (w && typeof w === 'object' && 'from' in w && 'to' in w && 'name' in w) {
      out.line(`${safeLine(w.name)}: ${safeLine(w.from)} → ${c.bold(safeLine(w.to))}${w.changes === false ? c.dim(' (unchanged)') : ''}`);
    } else if (w && typeof w === 'object' && 'task' in w) {
      out.line(`task ${safeLine(w.task)} with params ${safeLine(JSON.stringify(w.params ?? {}))}`);
      if ('dryRun' in w) for (const l of planLines(w.dryRun)) out.line(`  ${l}`);
      else out.note(c.dim(`  ${safeLine(w.note)}`));
    } else {
      for (const l of planLines(w)) out.line(l);
    }
    if (answer.approval) out.note(`the real request needs ${answer.approval.count} approval(s) by another person${answer.approval.breakGlass ? ' (or --break-glass by an admin)' : ''}`);
  });
  commandDone();
}
