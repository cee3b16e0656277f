import { Argument, Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { completeWith } from '../../completion/hints.js';
import { UsageError } from '../../errors/usage-error.js';
import { ensureConfirmable, confirmDestructive, ensureReason } from '../../confirm.js';
import { collectParam, missingRequired, parseParams } from '../../params/parse-params.js';
import { redactSecrets, resolveSecrets, secretNames, secretOnArgvMessage } from '../../params/secret-params.js';
import { findEndpoint, STANDARD_ENDPOINTS, buildRequest, type EndpointDescriptor, type JsonSchema } from '../../../protocol/catalog.js';
import { isJobStarted } from '../../jobs/job-types.js';
import { handleStartedJob } from '../../jobs/started.js';
import { cellText } from '../../output/output.js';
import { rememberCatalog } from '../../service-commands/remember-catalog.js';
import { quoted } from '../../../protocol/wording.js';

export interface CallOptions {
  endpointId: string;
  /** Raw `k=v` pairs from --param. */
  params: string[];
  /** Raw JSON object from --body; --param values win over it. */
  body?: string;
  follow: boolean;
  interrupt?: AbortSignal;
  /**
   * The endpoint as the cached catalog has it, for a service command
   * (src/cli/service-commands): what can be refused before connecting is.
   * Everything the request does is decided by the catalog fetched now.
   */
  cached?: EndpointDescriptor;
  /** How the command line gives a param, for messages (default `--param NAME=…`). */
  paramFlag?: (name: string) => string;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('call')
    .description('Call any endpoint of the catalog, including the service\'s own')
    .addArgument(completeWith(new Argument('<endpoint-id>', 'endpoint id (see opsctl endpoints)'), 'endpoints'))
    .addOption(new Option('--param <k=v>', 'a param, typed by the endpoint\'s schema (repeatable)').argParser(collectParam))
    .option('--body <json>', 'params as one JSON object (--param values override it)')
    .option('-f, --follow', 'for job endpoints: stream the job until it ends', false)
    .addHelpText('after', '\nValues are typed by the endpoint\'s params schema: booleans accept true/false/on/off/yes/no/1/0, objects and arrays take JSON.\nDestructive endpoints show what will be called and ask first (--yes to skip).')
    .action(async (endpointId: string, o: { param?: string[]; body?: string; follow?: boolean }) =>
      run(f, { endpointId, params: o.param ?? [], follow: Boolean(o.follow), ...(o.body !== undefined ? { body: o.body } : {}) }),
    );
}

function parseBody(body: string | undefined): Record<string, unknown> {
  if (body === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw new UsageError(`--body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('--body must be a JSON object of params');
  return v as Record<string, unknown>;
}

function suggest(id: string, endpoints: readonly EndpointDescriptor[]): string {
  const close = endpoints.map((e) => e.id).filter((x) => x.startsWith(id.split('.')[0]!) || x.includes(id) || id.includes(x));
  return close.length ? ` (did you mean ${close.slice(0, 5).join(', ')}?)` : '; list them with: opsctl endpoints';
}

export async function run(f: Factory, opts: CallOptions): Promise<void> {
  const bodyParams = parseBody(opts.body);
  const known = findEndpoint(STANDARD_ENDPOINTS, opts.endpointId) ?? opts.cached;
  // A known-destructive endpoint can be refused before anything is sent.
  if (known?.destructive) await ensureConfirmable(f, `call ${known.id}`);
  const client = await f.client();
  const catalog = await client.catalog();
  await rememberCatalog(f, catalog);
  const ep = findEndpoint(catalog.endpoints, opts.endpointId);
  if (!ep) {
    const stale = opts.cached ? ' (the cached catalog this command came from was out of date; it is refreshed now)' : '';
    throw new UsageError(`no endpoint ${quoted(opts.endpointId)} in the catalog of ${catalog.service}${stale}${suggest(opts.endpointId, catalog.endpoints)}`);
  }
  const subject = `endpoint ${quoted(ep.id)}`;
  for (const name of secretNames(ep.params)) if (name in bodyParams) throw new UsageError(secretOnArgvMessage(name));
  const params = await resolveSecrets({ ...bodyParams, ...parseParams(opts.params, ep.params, { subject }) }, ep.params, { io: f.io, prompter: f.prompter(), subject });
  const missing = missingRequired(params, ep.params);
  const flag = opts.paramFlag ?? ((m: string) => `--param ${m}=…`);
  if (missing.length) throw new UsageError(`${subject} needs ${missing.map(flag).join(' ')}`);

  let destructive = ep.destructive;
  let label = `endpoint ${ep.id}`;
  if (ep.id === 'tasks.run') {
    // tasks.run takes the task's own destructiveness: calling it generically
    // must not skip the question `opsctl tasks run` would ask.
    const { tasks } = await client.call<{ tasks: Array<{ name: string; destructive: boolean; params?: JsonSchema }> }>('tasks.list');
    const task = tasks.find((t) => t.name === params.name);
    destructive ||= Boolean(task?.destructive);
    // The task's secret params would sit on argv inside params={...}.
    const given = typeof params.params === 'object' && params.params !== null ? (params.params as Record<string, unknown>) : {};
    const secret = secretNames(task?.params ?? {}).find((n) => n in given);
    if (secret) throw new UsageError(`${secretOnArgvMessage(secret)} (use opsctl tasks run ${String(params.name)}, which reads it that way)`);
    label = `task ${String(params.name)}`;
  }
  const out = await f.output();
  if (ep.method !== 'GET') await ensureReason(f, `calling ${ep.id}`);
  if (destructive) {
    await ensureConfirmable(f, `call ${ep.id}`);
    let shape;
    try {
      shape = buildRequest(ep, params);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    out.warn(`${ep.id} is destructive: ${ep.summary}`);
    out.note(`  ${shape.method} ${shape.path}${shape.query ? `?${shape.query}` : ''}${shape.body && Object.keys(shape.body).length ? ` ${JSON.stringify(redactSecrets(shape.body as Record<string, unknown>, ep.params))}` : ''}`);
    await confirmDestructive(f, `call ${ep.id}`);
  }
  let result: unknown;
  try {
    result = await client.call(ep, params);
  } catch (e) {
    if ((e as Error).message.startsWith('missing path parameter')) throw new UsageError((e as Error).message);
    throw e;
  }
  if (ep.job && isJobStarted(result)) {
    await handleStartedJob(f, result, { follow: opts.follow, label, ...(opts.interrupt ? { interrupt: opts.interrupt } : {}) });
    return;
  }
  out.emit(result, () => out.line(typeof result === 'string' ? result.replace(/\n$/, '') : typeof result === 'object' && result !== null ? JSON.stringify(result, null, 2) : cellText(result)));
}
