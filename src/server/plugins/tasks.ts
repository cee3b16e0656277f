import type { ValidateFunction } from 'ajv';
import { ProblemError, isRole } from '../../protocol/index.js';
import { checkPolicy } from '../approvals/policy.js';
import { InternalPortConfigError } from '../config-error.js';
import type { TaskDefinition } from '../options.js';
import { auditParams } from '../routing/audit-params.js';
import { compileParams, validateOrThrow } from '../routing/params.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';
import { NAME_RE } from '../../protocol/names.js';


/** tasks.list and tasks.run: the service's named maintenance tasks, each run as a job under its own role. */
export function registerTasks(ctx: PluginContext, tasks: TaskDefinition[]): void {
  const byName = new Map<string, { task: TaskDefinition; validate: ValidateFunction }>();
  for (const task of tasks) {
    const fail = (why: string): never => { throw new InternalPortConfigError(`task ${JSON.stringify(task?.name)} cannot be registered: ${why}`); };
    if (!task || typeof task.name !== 'string' || !NAME_RE.test(task.name)) fail('its name must be 1-64 letters, digits, _ . -');
    if (byName.has(task.name)) fail('the name is already taken');
    if (typeof task.summary !== 'string' || !task.summary.trim()) fail('a summary is required');
    if (!isRole(task.role)) fail('a role (viewer, operator or admin) is required');
    if (typeof task.destructive !== 'boolean') fail('destructive must be true or false');
    if (!task.params || task.params.type !== 'object') fail('a params JSON Schema of type "object" is required');
    if (typeof task.handler !== 'function') fail('a handler is required');
    if (task.dryRun !== undefined && typeof task.dryRun !== 'function') fail('dryRun must be a function');
    if (task.approval !== undefined) checkPolicy(`task ${JSON.stringify(task.name)}`, task.approval);
    let validate: ValidateFunction;
    try {
      validate = compileParams(task.params, 'POST');
    } catch (e) {
      return fail(`invalid params schema: ${(e as Error).message}`);
    }
    byName.set(task.name, { task, validate });
  }
  const find = (name: unknown) => {
    const t = byName.get(String(name));
    if (!t) throw new ProblemError('not_found', `no task named "${String(name)}"`);
    return t;
  };

  ctx.register(standardRoute('tasks.list', {
    handler: () => ({
      body: {
        tasks: [...byName.values()].map(({ task }) => ({
          name: task.name,
          summary: task.summary,
          description: task.description ?? task.summary,
          destructive: task.destructive,
          role: task.role,
          scope: task.scope ?? 'instance',
          params: task.params,
          ...(task.approval ? { approval: task.approval } : {}),
          ...(typeof task.dryRun === 'function' ? { dryRun: true } : {}),
        })),
      },
    }),
  }));
  const runRoute = standardRoute('tasks.run', {
    // A task's params are redacted by its own schema; when the task is not
    // known (a typo → 404) nothing says which are secret, so all are.
    auditParams: (params) => {
      const own = auditParams(runRoute.params, params) as Record<string, unknown>;
      const t = byName.get(String(params.name));
      if (params.params !== undefined) own.params = auditParams(t?.task.params, params.params);
      return own;
    },
    policy: (params) => {
      const { task, validate } = find(params.name);
      const taskParams = (params.params ?? {}) as Record<string, unknown>;
      params.params = taskParams;
      return {
        role: task.role,
        destructive: task.destructive,
        auditParams: { name: task.name, params: auditParams(task.params, taskParams) },
        validate: () => validateOrThrow(validate, taskParams, 'params'),
        ...(task.approval ? { approval: task.approval } : {}),
      };
    },
    dryRun: async ({ params, principal, requestId, reason }) => {
      const { task } = find(params.name);
      const taskParams = params.params as Record<string, unknown>;
      const answer = task.dryRun ? await task.dryRun(taskParams, { principal, requestId, reason }) : undefined;
      return { task: task.name, params: auditParams(task.params, taskParams), ...(task.dryRun ? { dryRun: answer ?? null } : { note: `task ${task.name} has no dryRun handler: its params were validated` }) };
    },
    handler: ({ params, startJob }) => {
      const { task } = find(params.name);
      const taskParams = params.params as Record<string, unknown>;
      return { job: startJob({ name: task.name, run: (jc) => task.handler(taskParams, jc) }) };
    },
  });
  ctx.register(runRoute);
}
