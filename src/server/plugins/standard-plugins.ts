import { registerAudit } from './audit.js';
import { registerCatalog } from './catalog.js';
import { registerCustomEndpoints } from './custom-endpoints.js';
import { registerFlags } from './flags.js';
import { registerGrants } from './grants.js';
import { registerHealth } from './health.js';
import { registerJobs } from './jobs.js';
import { registerMetrics } from './metrics.js';
import { registerMigrations } from './migrations.js';
import { registerNotify } from './notify.js';
import type { PluginContext } from './plugin-context.js';
import { registerTasks } from './tasks.js';
import { registerWhoami } from './whoami.js';

/** One endpoint family: registers its routes through ctx.register, reading its options from ctx.options. */
export interface Plugin {
  name: string;
  register(ctx: PluginContext): void;
}

/**
 * The endpoint families every internal port serves, in registration order
 * (the catalog lists endpoints in this order). The service's own endpoints
 * come last, so they can never shadow a standard one: the router refuses a
 * second registration of a method and path.
 */
export const STANDARD_PLUGINS: readonly Plugin[] = [
  { name: 'health', register: registerHealth },
  { name: 'whoami', register: registerWhoami },
  { name: 'catalog', register: registerCatalog },
  { name: 'metrics', register: registerMetrics },
  { name: 'flags', register: registerFlags },
  { name: 'migrations', register: (ctx) => { if (ctx.options.migrations) registerMigrations(ctx, ctx.options.migrations); } },
  { name: 'tasks', register: (ctx) => registerTasks(ctx, ctx.options.tasks ?? []) },
  { name: 'jobs', register: registerJobs },
  { name: 'audit', register: registerAudit },
  { name: 'grants', register: (ctx) => registerGrants(ctx, ctx.grants) },
  { name: 'notify', register: registerNotify },
  { name: 'custom-endpoints', register: (ctx) => registerCustomEndpoints(ctx, ctx.options.endpoints ?? []) },
];
