import { ProblemError, type NotifyStatus, type NotifyTestAnswer } from '../../protocol/index.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/**
 * notify.status and notify.test (docs/notifications.md). Registered on every
 * port, so the catalog and the CLI are the same everywhere; without
 * notifications configured, status lists no endpoint and test says so.
 */
export function registerNotify(ctx: PluginContext): void {
  ctx.register(standardRoute('notify.status', {
    handler: () => {
      const body: NotifyStatus = ctx.notifier?.status() ?? { publicKey: null, endpoints: [] };
      return { body };
    },
  }));
  ctx.register(standardRoute('notify.test', {
    handler: async ({ params, principal, reason }) => {
      const n = ctx.notifier;
      if (!n) throw new ProblemError('not_found', 'this service has no notification endpoints configured (notifications in its options)');
      const only = typeof params.endpoint === 'string' ? params.endpoint : undefined;
      if (only !== undefined && !n.has(only)) throw new ProblemError('not_found', `no notification endpoint named ${JSON.stringify(only)} (see opsctl notify status)`);
      const body: NotifyTestAnswer = { results: await n.test(principal.name, reason ?? null, only) };
      return { body };
    },
  }));
}
