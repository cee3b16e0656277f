import { ProblemError } from '../../protocol/index.js';
import { coerceFlagValue } from '../flags/flag-value.js';
import type { FlagDefinition } from '../options.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** flags.list, flags.get, flags.set over the FlagService (typed, validated, who/when recorded). */
export function registerFlags(ctx: PluginContext): void {
  // The store decides where a flag lives: one value per instance (file store)
  // or one for the whole service (a database); fleet clients follow the scope.
  const scope = ctx.options.flags?.store?.shared === true ? 'service' : 'instance';
  const route = (...args: Parameters<typeof standardRoute>) => ({ ...standardRoute(...args), scope } as const);
  ctx.register(route('flags.list', {
    handler: () => ({ body: { flags: ctx.flags.list() } }),
  }));
  ctx.register(route('flags.get', {
    handler: ({ params }) => {
      const flag = ctx.flags.view(String(params.name));
      if (!flag) throw new ProblemError('not_found', `no flag named "${String(params.name)}"`);
      return { body: flag };
    },
  }));
  ctx.register(route('flags.set', {
    // Dry-run: the value typed and bounded as a set would, nothing saved.
    dryRun: ({ params }) => {
      const flag = ctx.flags.view(String(params.name));
      if (!flag) throw new ProblemError('not_found', `no flag named "${String(params.name)}"`);
      const to = coerceFlagValue(flag as unknown as FlagDefinition, params.value);
      return { name: flag.name, type: flag.type, from: flag.value, to, changes: flag.value !== to };
    },
    handler: async ({ params, principal }) => ({ body: await ctx.flags.set(String(params.name), params.value, principal.name) }),
  }));
}
