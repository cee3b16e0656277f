import { InternalPortConfigError } from '../config-error.js';
import type { CustomEndpoint } from '../options.js';
import type { RouteDefinition } from '../routing/route.js';
import type { PluginContext } from './plugin-context.js';
import { isTextAnswer } from './text-answer.js';

/** The router group of the service's own endpoints: what InternalPort.reconfigure({endpoints}) replaces. */
export const CUSTOM_ENDPOINTS_GROUP = 'custom-endpoints';

/** One of the service's own endpoints as a route: the same shape, handler and checks as the standard ones. */
export function customEndpointRoute(ep: CustomEndpoint): RouteDefinition {
  const isJob = typeof ep?.job === 'function';
  if (isJob === (typeof ep?.handler === 'function')) {
    throw new InternalPortConfigError(`endpoint ${JSON.stringify(ep?.id)} cannot be registered: give exactly one of handler or job`);
  }
  for (const hook of ['validate', 'dryRun', 'beforeJob'] as const) {
    if (ep[hook] !== undefined && typeof ep[hook] !== 'function') {
      throw new InternalPortConfigError(`endpoint ${JSON.stringify(ep.id)} cannot be registered: ${hook} must be a function`);
    }
  }
  if (ep.beforeJob !== undefined && !isJob) throw new InternalPortConfigError(`endpoint ${JSON.stringify(ep.id)} cannot be registered: beforeJob is for job endpoints`);
  const destructive = ep.destructive === true;
  return {
    id: ep.id,
    method: ep.method,
    path: ep.path,
    summary: ep.summary,
    ...(ep.description !== undefined ? { description: ep.description } : {}),
    role: ep.role,
    destructive,
    params: ep.params,
    job: isJob,
    scope: ep.scope ?? 'instance',
    ...(ep.approval !== undefined ? { approval: ep.approval } : {}),
    // The endpoint's own checks run in the authorize stage, after the role
    // and the schema: a refusal is a 400 before anything is accepted or run.
    ...(typeof ep.validate === 'function' ? { policy: (params) => ({ role: ep.role, destructive, validate: () => ep.validate!(params) }) } : {}),
    ...(typeof ep.dryRun === 'function' ? { dryRun: ({ params, principal, requestId, reason }) => ep.dryRun!(params, { principal, requestId, reason }) } : {}),
    handler: async ({ params, principal, requestId, reason, startJob }) => {
      if (isJob) {
        const release = typeof ep.beforeJob === 'function' ? await ep.beforeJob(params, { principal, requestId, reason }) : undefined;
        try {
          return { job: startJob({ name: ep.id, run: (jc) => ep.job!(params, jc), ...(typeof release === 'function' ? { onEnd: release } : {}) }) };
        } catch (e) {
          // The job never started: what beforeJob took is given back now.
          if (typeof release === 'function') await release();
          throw e;
        }
      }
      const body = await ep.handler!(params, { principal, requestId, reason });
      if (isTextAnswer(body)) return { raw: body.text, contentType: 'text/plain; charset=utf-8' };
      return { body: body === undefined ? null : body };
    },
  };
}

/** The service's own endpoints, through the same register() as the standard ones. */
export function registerCustomEndpoints(ctx: PluginContext, endpoints: CustomEndpoint[]): void {
  for (const ep of endpoints) ctx.register(customEndpointRoute(ep), CUSTOM_ENDPOINTS_GROUP);
}
