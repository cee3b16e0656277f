import type { EndpointDescriptor } from '../../../protocol/catalog.js';

/**
 * The role to show for an endpoint. `tasks.run` is listed in the catalog with
 * the lowest role because the server checks the *task's* role when the name
 * is known; showing "viewer" would tell an operator that viewers may run
 * tasks, so it reads "the task's" instead.
 */
export function roleText(e: Pick<EndpointDescriptor, 'id' | 'role'>): string {
  return e.id === 'tasks.run' ? "the task's (tasks list)" : e.role;
}
