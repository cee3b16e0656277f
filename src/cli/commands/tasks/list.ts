import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { paramsSummary, type TaskView } from './task-types.js';
import { approvalText } from '../../approvals/approval-text.js';
import type { ApprovalPolicy } from '../../../protocol/catalog.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description(summaryOf('tasks.list'))
    .addHelpText('after', endpointHelp('tasks.list'))
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const res = await client.call<{ tasks: TaskView[] }>('tasks.list');
  await remember(f, 'tasks', res.tasks.map((t) => t.name));
  const out = await f.output();
  out.emit(res, () => {
    const c = out.colors;
    out.table(res.tasks.map((t) => ({ ...t, paramList: paramsSummary(t.params) })), [
      { key: 'name', header: 'name', fit: 'id' },
      { key: 'role', header: 'role' },
      { key: 'destructive', header: 'destructive', format: (v) => (v ? c.red('yes') : '') },
      // A task's own approval policy, only when some task has one.
      ...(res.tasks.some((t) => t.approval) ? [{ key: 'approval', header: 'approval', optional: 1, format: (v: unknown) => approvalText(v as ApprovalPolicy | undefined) }] : []),
      { key: 'paramList', header: 'params', fit: 'text', optional: 2 },
      { key: 'summary', header: 'summary', fit: 'text' },
    ], { empty: 'this service registered no tasks' });
  });
}
