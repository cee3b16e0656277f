import { InternalPortConfigError } from '../config-error.js';
import type { CustomEndpoint } from '../options.js';
import type { PluginContext } from './plugin-context.js';

/** The service's own endpoints, through the same register() as the standard ones. */
export function registerCustomEndpoints(ctx: PluginContext, endpoints: CustomEndpoint[]): void {
  for (const ep of endpoints) {
    const isJob = typeof ep?.job === 'function';
    if (isJob === (typeof ep?.handler === 'function')) {
      throw new InternalPortConfigError(`endpoint ${JSON.stringify(ep?.id)} cannot be registered: give exactly one of handler or job`);
    }
    ctx.register({
      id: ep.id,
      method: ep.method,
      path: ep.path,
      summary: ep.summary,
      ...(ep.description !== undefined ? { description: ep.description } : {}),
      role: ep.role,
      destructive: ep.destructive === true,
      params: ep.params,
      job: isJob,
      scope: ep.scope ?? 'instance',
      ...(ep.approval !== undefined ? { approval: ep.approval } : {}),
      ...(typeof ep.dryRun === 'function' ? { dryRun: ({ params, principal, requestId, reason }) => ep.dryRun!(params, { principal, requestId, reason }) } : {}),
      handler: async ({ params, principal, requestId, reason, startJob }) => {
        if (isJob) return { job: startJob({ name: ep.id, run: (jc) => ep.job!(params, jc) }) };
        const body = await ep.handler!(params, { principal, requestId, reason });
        return { body: body === undefined ? null : body };
      },
    });
  }
}
