import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { summaryOf, endpointHelp } from '../../command.js';
import { OperationError } from '../../errors/operation-error.js';

/** Nothing yet: health takes no params. */
export type HealthOptions = Record<string, never>;

interface HealthResponse {
  service: string;
  version: string;
  protocol?: number;
  uptimeSeconds?: number;
  time?: string;
  status?: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('health')
    .description(summaryOf('health'))
    .addHelpText('after', endpointHelp('health'))
    .action(async () => run(f, {}));
}

export async function run(f: Factory, _opts: HealthOptions): Promise<void> {
  const client = await f.client();
  const health = await client.call<HealthResponse>('health');
  const out = await f.output();
  out.emit(health, () => {
    const c = out.colors;
    const status = health.status ?? 'ok';
    out.fields([
      ['service', `${health.service} ${health.version}`],
      ['status', status === 'ok' ? c.green(status) : c.yellow(status)],
      ['uptime', health.uptimeSeconds !== undefined ? `${Math.round(health.uptimeSeconds)} s` : ''],
      ['server time', health.time ?? ''],
    ]);
    const checks = Object.entries(health.checks ?? {}).map(([name, r]) => ({ name, ok: r.ok, detail: r.detail ?? '' }));
    if (checks.length) {
      out.line();
      out.table(checks, [
        { key: 'name', header: 'check', fit: 'id' },
        { key: 'ok', header: 'ok', format: (v) => (v ? c.green('ok') : c.red('FAIL')) },
        { key: 'detail', header: 'detail', fit: 'text' },
      ]);
    }
  });
  // degraded still serves (e.g. migrations pending): say so, keep exit 0;
  // anything else is a failed health check.
  if (health.status === 'degraded') out.warn('service reports status degraded (see checks)');
  else if (health.status && health.status !== 'ok') throw new OperationError(`service reports status ${health.status}`);
}
