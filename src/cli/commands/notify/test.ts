import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import type { NotifyTestAnswer } from '../../../protocol/notify.js';
import { OperationError } from '../../errors/operation-error.js';
import { safeLine } from '../../approvals/terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('test')
    .description(summaryOf('notify.test'))
    .addOption(new Option('--endpoint <name>', 'only this endpoint (as notify status names it)'))
    .addHelpText('after', `${endpointHelp('notify.test')}\nExit 0 when every endpoint answered 2xx, 1 otherwise (each one's status is listed).`)
    .action(async (o: { endpoint?: string }) => run(f, o.endpoint !== undefined ? { endpoint: o.endpoint } : {}));
}

export async function run(f: Factory, opts: { endpoint?: string }): Promise<void> {
  const client = await f.client();
  const res = await client.call<NotifyTestAnswer>('notify.test', opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {});
  const out = await f.output();
  out.emit(res, () => {
    const c = out.colors;
    out.table(res.results as unknown as Record<string, unknown>[], [
      { key: 'endpoint', header: 'endpoint', format: (v) => safeLine(v) },
      { key: 'kind', header: 'kind', format: (v) => safeLine(v) },
      { key: 'ok', header: 'result', format: (v, r) => (v ? c.green(`ok ${String(r.status)}`) : c.red(safeLine(r.error ?? 'failed'))) },
      { key: 'ms', header: 'ms' },
      { key: 'webhookId', header: 'webhook-id', format: (v) => safeLine(v) },
    ], { empty: 'no endpoint' });
  });
  const failed = res.results.filter((r) => !r.ok);
  if (failed.length) throw new OperationError(`${failed.length} of ${res.results.length} endpoint(s) did not accept the test event: ${failed.map((r) => safeLine(r.endpoint)).join(', ')}`);
}
