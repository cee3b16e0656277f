import { PROTOCOL_VERSION, type Catalog } from '../../protocol/index.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/** GET /v1/catalog: exactly what was registered. */
export function registerCatalog(ctx: PluginContext): void {
  ctx.register(standardRoute('catalog', {
    handler: () => {
      const body: Catalog = {
        service: ctx.options.service.name,
        version: ctx.options.service.version,
        protocol: PROTOCOL_VERSION,
        endpoints: ctx.catalog(),
      };
      return { body };
    },
  }));
}
