import type { Factory } from '../factory.js';

/**
 * Which endpoint each command that talks to the service stands for: its
 * catalog `scope` decides where the command goes in a fleet (once, or on
 * every host). Commands missing here (keys, context, tunnel, doctor, …)
 * do not fan out.
 */
export const COMMAND_ENDPOINTS: Readonly<Record<string, string>> = {
  health: 'health',
  whoami: 'whoami',
  endpoints: 'catalog',
  metrics: 'metrics.get',
  'flags list': 'flags.list',
  'flags get': 'flags.get',
  'flags set': 'flags.set',
  'flags enable': 'flags.set',
  'flags disable': 'flags.set',
  'migrate status': 'migrations.status',
  'migrate plan': 'migrations.plan',
  'migrate up': 'migrations.up',
  'migrate down': 'migrations.down',
  'tasks list': 'tasks.list',
  'tasks run': 'tasks.run',
  'jobs list': 'jobs.list',
  'jobs status': 'jobs.get',
  'jobs logs': 'jobs.events',
  'jobs wait': 'jobs.get',
  'jobs cancel': 'jobs.cancel',
  'audit tail': 'audit.tail',
  'audit verify': 'audit.verify',
};

/**
 * The endpoint a command stands for: `call <endpoint-id>`'s first argument,
 * a service command's own endpoint (`explicit`), else COMMAND_ENDPOINTS.
 */
export function endpointOfCommand(path: string, args: unknown[], explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (path === 'call') return typeof args[0] === 'string' ? args[0] : undefined;
  return COMMAND_ENDPOINTS[path];
}

/** Endpoints whose scope depends on the service (the flag store) or is the service's own: ask its catalog. */
export function scopeNeedsCatalog(endpointId: string, known: boolean): boolean {
  return !known || endpointId.startsWith('flags.');
}

/** True when this invocation fans out: several hosts selected and a command that talks to the service. */
export async function wantsFleet(f: Factory, path: string, args: unknown[], explicit?: string): Promise<boolean> {
  if (!endpointOfCommand(path, args, explicit)) return false;
  try {
    return (await f.context()).hosts.length > 1;
  } catch {
    return false; // no context: the command reports that itself
  }
}

/**
 * Whether the command streams under -o json (README, "Runbooks": every
 * stdout line one JSON object): `jobs logs` always, and any command run with
 * --follow or --watch.
 */
export function streamsLines(path: string, options: Record<string, unknown>): boolean {
  return path === 'jobs logs' || options.follow === true || options.watch === true;
}
