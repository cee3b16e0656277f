import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** audit.tail and audit.verify (admin). */
export function registerAudit(ctx: PluginContext): void {
  ctx.register(standardRoute('audit.tail', {
    handler: async ({ params }) => {
      const limit = typeof params.limit === 'number' ? params.limit : 20;
      return { body: { records: await ctx.audit.tail(limit) } };
    },
  }));
  ctx.register(standardRoute('audit.verify', {
    handler: async () => ({ body: await ctx.audit.verify() }),
  }));
}
