import { ProblemError } from '../../protocol/index.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** A size or seq beyond what the log holds is the caller's mistake: 400 with the reason. */
async function asProblem<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RangeError) throw new ProblemError('request.invalid', e.message);
    throw e;
  }
}

/** audit.tail, audit.verify, audit.checkpoint, audit.proof, audit.consistency (admin). */
export function registerAudit(ctx: PluginContext): void {
  ctx.register(standardRoute('audit.tail', {
    handler: async ({ params }) => {
      const limit = typeof params.limit === 'number' ? params.limit : 20;
      return { body: { records: await ctx.audit.tail(limit) } };
    },
  }));
  ctx.register(standardRoute('audit.verify', {
    handler: async ({ params }) => ({ body: await ctx.audit.verify({ full: params.full === true }) }),
  }));
  ctx.register(standardRoute('audit.checkpoint', {
    handler: async () => ({ body: await ctx.audit.checkpoint() }),
  }));
  ctx.register(standardRoute('audit.proof', {
    handler: async ({ params }) => ({ body: await asProblem(() => ctx.audit.inclusionProof(params.seq as number, params.size as number)) }),
  }));
  ctx.register(standardRoute('audit.consistency', {
    handler: async ({ params }) => ({ body: await asProblem(() => ctx.audit.consistencyProof(params.from as number, params.to as number)) }),
  }));
}
