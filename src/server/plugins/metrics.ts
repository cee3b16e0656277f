import { Registry } from 'prom-client';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** GET /v1/metrics: the service's registry and the port's own, as Prometheus text or JSON. */
export function registerMetrics(ctx: PluginContext): void {
  const own = ctx.metrics.registry;
  const service = ctx.options.metricsRegistry;
  const merged = (): Registry => {
    if (!service) return own;
    try {
      return Registry.merge([service, own]);
    } catch (e) {
      ctx.log('warn', `metrics registries cannot be merged (${(e as Error).message}); serving the port's own only`);
      return own;
    }
  };
  ctx.register(standardRoute('metrics.get', {
    handler: async ({ req }) => {
      const registry = merged();
      const accept = String(req.headers.accept ?? '');
      if (/\bapplication\/json\b/i.test(accept)) return { body: { metrics: await registry.getMetricsAsJSON() } };
      return { raw: await registry.metrics(), contentType: registry.contentType };
    },
  }));
}
