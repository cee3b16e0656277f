import { STANDARD_ENDPOINTS, type EndpointDescriptor } from '../../protocol/index.js';
import type { RouteDefinition } from '../routing/route.js';

/** A route for a standard endpoint: its descriptor from the shared catalog plus the server's handler. */
export function standardRoute(id: string, rest: Pick<RouteDefinition, 'handler'> & Partial<Pick<RouteDefinition, 'policy' | 'auditParams' | 'dryRun'>>): RouteDefinition {
  const d: EndpointDescriptor | undefined = STANDARD_ENDPOINTS.find((e) => e.id === id);
  if (!d) throw new Error(`${id} is not a standard endpoint`);
  return { ...d, ...rest };
}
