import type { ReviewHooks } from '../client/client.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import type { Factory } from '../factory.js';

/**
 * The one place where a command's mutations meet approvals: --dry-run and
 * --break-glass become covered headers, a held answer is waited for, a
 * dry-run answer is shown. Commands themselves know nothing of it.
 */
export function reviewHooks(f: Factory): ReviewHooks {
  const g = f.globals();
  let acknowledged = false;
  return {
    ...(g.dryRun ? { dryRun: true } : {}),
    ...(g.breakGlass ? { breakGlass: g.breakGlass } : {}),
    async acknowledgeBreakGlass() {
      if (acknowledged) return;
      // On a terminal the operator types it, --yes or not; without one the
      // reason given with --break-glass is the acknowledgment.
      const prompter = f.prompter();
      if (prompter.interactive) {
        f.io.stderr.write('! break glass: this runs without the approval the service requires; it is recorded and listed for review\n');
        const ok = await prompter.typeToConfirm('Type "break glass" to go on:', 'break glass');
        if (!ok) throw new NotConfirmedError('break glass not confirmed; nothing was sent');
      }
      acknowledged = true;
    },
    // Loaded only when a request was held or dry-run: most commands never need them.
    onHeld: async (held, ep) => (await import('./wait-for-approval.js')).waitForApproval(f, held, ep),
    onDryRun: async (answer) => (await import('./show-dry-run.js')).showDryRun(f, answer),
  };
}
