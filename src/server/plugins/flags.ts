import { ProblemError } from '../../protocol/index.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** flags.list, flags.get, flags.set over the FlagService (typed, validated, who/when recorded). */
export function registerFlags(ctx: PluginContext): void {
  ctx.register(standardRoute('flags.list', {
    handler: () => ({ body: { flags: ctx.flags.list() } }),
  }));
  ctx.register(standardRoute('flags.get', {
    handler: ({ params }) => {
      const flag = ctx.flags.view(String(params.name));
      if (!flag) throw new ProblemError('not_found', `no flag named "${String(params.name)}"`);
      return { body: flag };
    },
  }));
  ctx.register(standardRoute('flags.set', {
    handler: async ({ params, principal }) => ({ body: await ctx.flags.set(String(params.name), params.value, principal.name) }),
  }));
}
