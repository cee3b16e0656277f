import { Registry } from 'prom-client';
import { expositionAsJson, parseExposition, renderExposition, type ExpositionFamily } from '../metrics/exposition.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

const TEXT_TIMEOUT_MS = 2000;

/** GET /v1/metrics: the service's registry and the port's own, as Prometheus text or JSON. */
export function registerMetrics(ctx: PluginContext): void {
  const own = ctx.metrics.registry;
  const merged = (): Registry => {
    // Read per request: InternalPort.reconfigure() may replace the extra text source.
    const service = ctx.options.metricsRegistry;
    if (!service) return own;
    try {
      return Registry.merge([service, own]);
    } catch (e) {
      ctx.log('warn', `metrics registries cannot be merged (${(e as Error).message}); serving the port's own only`);
      return own;
    }
  };
  const warned = new Set<string>();
  // The embedder's extra exposition text, minus families the registries
  // already have (two families of one name would make the answer invalid).
  const extra = async (registry: Registry): Promise<ExpositionFamily[]> => {
    const source = ctx.options.metricsText;
    if (!source) return [];
    let timer: NodeJS.Timeout | undefined;
    let text: string;
    try {
      text = await Promise.race([
        Promise.resolve().then(source),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${TEXT_TIMEOUT_MS} ms`)), TEXT_TIMEOUT_MS); }),
      ]);
    } catch (e) {
      ctx.log('warn', `extra metrics are left out of this answer: ${(e as Error).message}`);
      return [];
    } finally {
      if (timer) clearTimeout(timer);
    }
    const taken = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const { families } = parseExposition(String(text));
    return families.filter((f) => {
      if (!taken.has(f.name)) return true;
      if (!warned.has(f.name)) {
        warned.add(f.name);
        ctx.log('warn', `extra metric family ${f.name} is left out: the port already serves a metric of that name`);
      }
      return false;
    });
  };
  ctx.register(standardRoute('metrics.get', {
    handler: async ({ req }) => {
      const registry = merged();
      const more = await extra(registry);
      const accept = String(req.headers.accept ?? '');
      if (/\bapplication\/json\b/i.test(accept)) return { body: { metrics: [...await registry.getMetricsAsJSON(), ...expositionAsJson(more)] } };
      const text = await registry.metrics();
      return { raw: more.length ? `${text}${text.endsWith('\n') || !text ? '' : '\n'}\n${renderExposition(more)}` : text, contentType: registry.contentType };
    },
  }));
}
