/**
 * Reads, validates and prepares an opsctl-port config: YAML (with line
 * positions) → the JSON Schema (every problem at once) → the checks a
 * schema cannot make (targets exist, templates name declared params,
 * secrets are readable and private, endpoints do not collide) → everything
 * the running port needs, prepared. Used by `check`, at start and on every
 * reload; a config with any error is never used.
 */
import { createHash } from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { STANDARD_ENDPOINTS, type JsonSchema } from '../../protocol/index.js';
import { InternalPortConfigError } from '../../server/config-error.js';
import { parseAuthorizedKeys } from '../../server/auth/parse-authorized-keys.js';
import { holdable } from '../../server/approvals/policy.js';
import { coerceFlagValue, definitionProblem } from '../../server/flags/flag-value.js';
import { isLoopbackHost } from '../../server/listen/loopback.js';
import { resolveListenHost } from '../../server/listen/listen.js';
import { ofrepListenTarget } from '../../server/ofrep/listen-target.js';
import { customEndpointRoute } from '../../server/plugins/custom-endpoints.js';
import { compileParams } from '../../server/routing/params.js';
import { Router } from '../../server/routing/router.js';
import { prepareCommand, type PrepareEnv } from '../adaptors/command.js';
import { prepareExec, type PreparedExec } from '../adaptors/exec-adaptor.js';
import { prepareHttp, type PreparedHttp } from '../adaptors/http-adaptor.js';
import { ParamsInfo } from '../adaptors/params-info.js';
import { prepareSocket, type PreparedSocket } from '../adaptors/socket-adaptor.js';
import { parseTemplate } from '../adaptors/template.js';
import { defaultHost, resolveUpstream } from '../adaptors/upstream-http.js';
import { prepareHealth, type PreparedHealth } from '../health/health-checks.js';
import type { PreparedScrape } from '../metrics/upstream-metrics.js';
import type { PreparedMigrations } from '../migrations/command-migrator.js';
import { statusParser } from '../migrations/parse-status.js';
import { prepareNotify, type PreparedNotify } from './prepare-notify.js';
import { Problems, durationMs, readSecret } from './problems.js';
import type { EndpointSpec, SidecarConfig, StoreSpec } from './types.js';
import { validateAgainstSchema } from './validate-schema.js';
import { parseYamlSource, type ConfigPath, type ConfigProblem } from './yaml-source.js';

export interface PreparedEndpoint {
  spec: EndpointSpec;
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  params: JsonSchema;
  adaptor: PreparedHttp | PreparedExec | PreparedSocket;
}

export interface LoadedConfig {
  file: string;
  dir: string;
  /** sha256 of the file's bytes: a reload of the same bytes changes nothing. */
  hash: string;
  config: SidecarConfig;
  paths: {
    dataDir: string;
    auditLog: string;
    authorizedKeys: string;
    socket: string | undefined;
    signingKeyFile: string | undefined;
    flagsFile: string;
    grantsFile: string;
    approvalsFile: string;
    locksDir: string;
  };
  /** The listen address as resolved (a name becomes its loopback address). */
  host: string | undefined;
  /** The OFREP listener, its unix socket path made absolute. */
  ofrep: { listen: string; socketMode?: '0600' | '0660' } | undefined;
  /** Event notifications, their files named absolutely and checked. */
  notify: PreparedNotify | undefined;
  endpoints: PreparedEndpoint[];
  health: Array<{ name: string; check: PreparedHealth }>;
  scrape: PreparedScrape | undefined;
  migrations: PreparedMigrations | undefined;
  /** Database URLs, read from their files or variables (never logged). */
  postgres: { flags?: string; grants?: string; migrationsLock?: string };
}

export interface LoadResult {
  loaded: LoadedConfig | undefined;
  /** Errors and warnings, each placed at its line when it could be. */
  problems: ConfigProblem[];
}

/** Families of the standard endpoints: a config endpoint's id may not start with one (it could shadow them). */
const RESERVED = new Set(STANDARD_ENDPOINTS.map((e) => e.id.split('.')[0]!).concat(['ofrep', 'v1', 'opsctl']));

function defaultMethod(ep: EndpointSpec): PreparedEndpoint['method'] {
  if (ep.method) return ep.method;
  return ep.role === 'viewer' && ep.destructive !== true && !ep.exec ? 'GET' : 'POST';
}

/** Reads and checks the file; `loaded` is set only when there is no error. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    return { loaded: undefined, problems: [{ path: [], severity: 'error', message: `${abs} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }] };
  }
  const source = parseYamlSource(text);
  if (source.syntax.some((p) => p.severity === 'error')) return { loaded: undefined, problems: source.syntax };
  if (source.value === null || typeof source.value !== 'object' || Array.isArray(source.value)) {
    return { loaded: undefined, problems: [...source.syntax, source.place({ path: [], severity: 'error', message: 'the config must be a mapping of keys (service:, port:, endpoints: …)' })] };
  }
  const schemaProblems = validateAgainstSchema(source.value);
  const place = (p: Problems['list'][number]): ConfigProblem => {
    const { placeAt, key, ...rest } = p;
    const placed = source.place({ ...rest, path: placeAt ?? rest.path }, { key: key === true });
    return { ...placed, path: rest.path };
  };
  const problems = new Problems();
  const dir = path.dirname(abs);
  // With schema problems, the parts that have none are still checked (so
  // `check` lists every problem at once); the rest is left out of that.
  const config = schemaProblems.length ? withoutInvalidParts(source.value as Record<string, unknown>, schemaProblems) : (source.value as SidecarConfig);
  const loaded = config ? await check(config, { problems, resolvePath: (p) => path.resolve(dir, p), env }, abs, dir) : undefined;
  const byLine = (a: ConfigProblem, b: ConfigProblem) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
  const placed = [...source.syntax, ...schemaProblems.map(place), ...problems.list.map(place)].sort(byLine);
  if (schemaProblems.length || problems.errors || !loaded) return { loaded: undefined, problems: placed };
  loaded.hash = createHash('sha256').update(text).digest('hex');
  return { loaded, problems: placed };
}

/**
 * A copy of a config that failed the schema, without the parts the schema
 * problems are in: an endpoint, a flag definition or a health check is left
 * out (its place kept, so paths stay right), another key as a whole.
 * Undefined when a key everything depends on is broken.
 */
function withoutInvalidParts(value: Record<string, unknown>, found: Array<{ path: ConfigPath; key?: boolean }>): SidecarConfig | undefined {
  const copy = structuredClone(value) as Record<string, any>;
  const dropped: Array<[unknown[], number]> = [];
  for (const { path: p, key } of found) {
    const [top, second, third] = p;
    if (top === undefined || (['service', 'authorizedKeys', 'dataDir'].includes(String(top)) && !key)) return undefined;
    if (key && p.length > 1) {
      // An unknown key: only that key goes.
      let parent: any = copy;
      for (const seg of p.slice(0, -1)) parent = parent?.[seg as string];
      if (parent && typeof parent === 'object') delete parent[String(p[p.length - 1])];
    } else if (top === 'endpoints' && typeof second === 'number' && Array.isArray(copy.endpoints)) {
      dropped.push([copy.endpoints, second]);
    } else if (top === 'flags' && second === 'definitions' && typeof third === 'number' && Array.isArray(copy.flags?.definitions)) {
      dropped.push([copy.flags.definitions, third]);
    } else if (top === 'health' && typeof second === 'string' && copy.health && typeof copy.health === 'object') {
      delete copy.health[second];
    } else {
      delete copy[String(top)];
    }
  }
  // Left out in place (undefined), so the indexes in later messages stay right.
  for (const [list, i] of dropped) list[i] = undefined;
  return copy as SidecarConfig;
}

async function check(config: SidecarConfig, ctx: PrepareEnv, file: string, dir: string): Promise<LoadedConfig | undefined> {
  const { problems } = ctx;
  const at = (...p: ConfigPath) => p;

  // Where it listens.
  let host: string | undefined;
  if (config.socket !== undefined && (config.port !== undefined || config.host !== undefined)) {
    problems.error(at('socket'), 'give either socket or port (and host), not both');
  }
  if (config.socket === undefined && config.port === undefined && !('port' in (config as object))) problems.error(at('port'), 'give port (0 for a free one) or socket', { placeAt: [] });
  if (config.socket === undefined) {
    const h = config.host ?? '127.0.0.1';
    const literal = h.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(literal)) {
      if (!isLoopbackHost(literal)) problems.error(at('host'), `${h} is not loopback: the internal port listens on loopback only (reached through SSH)`);
      host = literal;
    } else {
      try {
        const addrs = await dns.lookup(h, { all: true, verbatim: true });
        const outside = addrs.filter((a) => !isLoopbackHost(a.address));
        if (!addrs.length || outside.length) problems.error(at('host'), `${h} resolves to ${outside.map((a) => a.address).join(', ') || 'nothing'}, which is not loopback`);
        else host = addrs[0]!.address;
      } catch (e) {
        problems.error(at('host'), `${h} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
  }
  const socket = config.socket !== undefined ? ctx.resolvePath(config.socket) : undefined;
  if (socket !== undefined && !fs.existsSync(path.dirname(socket))) problems.error(at('socket'), `directory ${path.dirname(socket)} does not exist`);

  // The allowlist: present, with at least one usable key; skipped lines are warnings.
  const authorizedKeys = ctx.resolvePath(config.authorizedKeys);
  try {
    const parsed = parseAuthorizedKeys(fs.readFileSync(authorizedKeys, 'utf8'));
    for (const p of parsed.problems) problems.warn(at('authorizedKeys'), `${authorizedKeys} line ${p.line} is skipped: ${p.reason}`);
    if (parsed.entries.size === 0) problems.error(at('authorizedKeys'), `${authorizedKeys} has no usable ssh-ed25519 key; the port refuses to start with an empty allowlist`);
  } catch (e) {
    problems.error(at('authorizedKeys'), `${authorizedKeys} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }

  // The data dir: a directory (created 0700 at start), not open to others.
  const dataDir = ctx.resolvePath(config.dataDir);
  try {
    const st = fs.statSync(dataDir);
    if (!st.isDirectory()) problems.error(at('dataDir'), `${dataDir} is not a directory`);
    else if (st.mode & 0o077) problems.warn(at('dataDir'), `${dataDir} is open to group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it`);
  } catch {
    // Created (with its parents) at start: the nearest existing ancestor must be a directory.
    let up = path.dirname(dataDir);
    while (!fs.existsSync(up) && up !== path.dirname(up)) up = path.dirname(up);
    if (!fs.statSync(up).isDirectory()) problems.error(at('dataDir'), `${dataDir} cannot be created: ${up} is not a directory`);
  }
  const signingKeyFile = config.audit?.signingKeyFile !== undefined ? ctx.resolvePath(config.audit.signingKeyFile) : undefined;
  if (signingKeyFile && fs.existsSync(signingKeyFile) && fs.statSync(signingKeyFile).mode & 0o077) {
    problems.error(at('audit', 'signingKeyFile'), `${signingKeyFile} is readable by group or others; chmod 600 it`);
  }

  // Job slots as the module checks them: the reserved ones must leave one for everyone.
  const maxJobs = config.jobs?.maxConcurrent ?? 4;
  const reserved = (config.jobs?.reservedSlots?.operator ?? 0) + (config.jobs?.reservedSlots?.admin ?? (config.jobs?.reservedSlots ? 0 : maxJobs >= 2 ? 1 : 0));
  if (reserved >= maxJobs) problems.error(at('jobs', config.jobs?.reservedSlots ? 'reservedSlots' : 'maxConcurrent'), `${reserved} reserved job slot(s) leave none of ${maxJobs} for viewers; reserve fewer or allow more`);

  // Flags as the module checks them, placed at their definition.
  const seenFlags = new Set<string>();
  (config.flags?.definitions ?? []).forEach((def, i) => {
    if (!def) return; // left out: the schema found a problem in it
    const where = at('flags', 'definitions', i);
    if (seenFlags.has(def.name)) problems.error([...where, 'name'], `flag ${def.name} is defined twice`);
    seenFlags.add(def.name);
    const why = definitionProblem(def);
    if (why) problems.error(where, `flag ${def.name} ${why}`);
    else {
      try {
        coerceFlagValue(def, def.default);
      } catch (e) {
        problems.error([...where, 'default'], `flag ${def.name} has an invalid default: ${(e as Error).message}`);
      }
    }
  });
  const postgres: LoadedConfig['postgres'] = {};
  const storeUrl = (s: StoreSpec | undefined, where: ConfigPath): string | undefined => {
    if (!s?.postgres) return undefined;
    return readSecret(s.postgres.url, [...where, 'postgres', 'url'], problems, ctx.resolvePath, ctx.env)?.value;
  };
  postgres.flags = storeUrl(config.flags?.store, at('flags', 'store'));
  postgres.grants = storeUrl(config.grants?.store, at('grants', 'store'));

  // OFREP: the module's own check of the listener (loopback only, an absolute
  // socket path: a relative one is made absolute against the config here).
  let ofrep: LoadedConfig['ofrep'];
  if (config.ofrep) {
    const { listen: given, socketMode } = config.ofrep;
    const listen = given.startsWith('unix:') ? `unix:${ctx.resolvePath(given.slice('unix:'.length))}` : given;
    try {
      const target = ofrepListenTarget({ listen, ...(socketMode ? { socketMode } : {}) });
      await resolveListenHost(target);
      if (target.socketPath !== undefined && !fs.existsSync(path.dirname(target.socketPath))) problems.error(at('ofrep', 'listen'), `directory ${path.dirname(target.socketPath)} does not exist`);
      if (target.socketPath !== undefined && target.socketPath === socket) problems.error(at('ofrep', 'listen'), 'the OFREP listener and the internal port cannot share a socket');
      if (target.port !== undefined && target.port !== 0 && target.port === config.port) problems.error(at('ofrep', 'listen'), `port ${target.port} is the internal port's own`);
      ofrep = { listen, ...(socketMode ? { socketMode } : {}) };
    } catch (e) {
      problems.error(at('ofrep', 'listen'), (e as Error).message.replace(/^ofrep: /, ''));
    }
  }

  const notify = config.notify ? prepareNotify(config.notify, config.service.name, dataDir, problems, ctx) : undefined;

  // Endpoints.
  const endpoints: PreparedEndpoint[] = [];
  const ids = new Set<string>();
  const router = new Router();
  for (const std of STANDARD_ENDPOINTS) router.register({ ...std, handler: () => ({ body: null }) });
  const list = config.endpoints ?? [];
  for (let i = 0; i < list.length; i++) {
    const ep = list[i];
    if (!ep) continue; // left out: the schema found a problem in it
    const where = at('endpoints', i);
    const before = problems.errors;
    if (ids.has(ep.id)) problems.error([...where, 'id'], `endpoint id ${ep.id} is used twice`);
    ids.add(ep.id);
    const family = ep.id.split('.')[0]!;
    if (RESERVED.has(family)) problems.error([...where, 'id'], `"${family}." is a standard endpoint family; give the endpoint an id of its own (e.g. app.${ep.id.split('.').slice(1).join('.')})`);
    const kinds = (['http', 'exec', 'socket'] as const).filter((k) => ep[k] !== undefined);
    if (kinds.length !== 1) {
      problems.error(where, kinds.length ? `give exactly one adaptor, not ${kinds.join(' and ')}` : 'give one adaptor: http, exec or socket');
      continue;
    }
    const method = defaultMethod(ep);
    if (ep.exec && method === 'GET') problems.error([...where, 'method'], 'an exec endpoint runs as a job: its method cannot be GET');
    if (ep.approval && !holdable(ep.id, method)) problems.error([...where, 'approval'], `an approval needs an endpoint that changes state; this one is ${method} (set method: POST)`);
    const epPath = ep.path ?? `/v1/${ep.id.split('.').join('/')}`;
    const params: JsonSchema = { type: 'object', properties: {}, ...(ep.params ?? {}), additionalProperties: false };
    try {
      compileParams(params, method);
    } catch (e) {
      problems.error([...where, 'params'], `not a valid JSON Schema: ${(e as Error).message}`);
      continue;
    }
    const props = (params.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, p] of Object.entries(props)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.error([...where, 'params', 'properties', name], `param name "${name}" must be letters, digits and _ (it is a {placeholder} and a CLI option)`, { key: true });
      if (p.type === undefined && p.enum === undefined) problems.warn([...where, 'params', 'properties', name], `param ${name} has no type: the CLI cannot type its value`);
    }
    for (const r of (params.required as string[] | undefined) ?? []) {
      if (!(r in props)) problems.error([...where, 'params', 'required'], `required param "${r}" is not declared in properties`);
    }
    const info = new ParamsInfo(params);
    let adaptor: PreparedEndpoint['adaptor'] | undefined;
    if (ep.http) adaptor = await prepareHttp(ep.http, [...where, 'http'], ctx, info);
    else if (ep.exec) adaptor = prepareExec(ep.exec, [...where, 'exec'], ctx, info);
    else if (ep.socket) adaptor = prepareSocket(ep.socket, [...where, 'socket'], ctx, info);
    for (const name of info.names) {
      if (!info.used.has(name)) problems.warn([...where, 'params', 'properties', name], `param ${name} is declared but not used by the ${kinds[0]} adaptor`, { key: true });
    }
    // Registered as the port will register it: a method and path or id that collides is found now.
    try {
      router.register(customEndpointRoute({
        id: ep.id, method, path: epPath, summary: ep.summary, ...(ep.description !== undefined ? { description: ep.description } : {}), role: ep.role,
        destructive: ep.destructive === true, params, scope: ep.scope ?? 'instance', ...(ep.approval ? { approval: ep.approval } : {}),
        ...(ep.exec ? { job: async () => null } : { handler: () => null }),
      }), 'check');
    } catch (e) {
      const why = e instanceof InternalPortConfigError ? e.message.replace(/^endpoint "[^"]*" cannot be registered: /, '') : (e as Error).message;
      problems.error(ep.path !== undefined ? [...where, 'path'] : [...where, 'id'], why);
    }
    if (problems.errors === before && adaptor) endpoints.push({ spec: ep, id: ep.id, method, path: epPath, params, adaptor });
  }

  // Approval policies of standard endpoints name endpoints that exist and can be held.
  for (const id of Object.keys(config.approvals?.endpoints ?? {})) {
    const std = STANDARD_ENDPOINTS.find((e) => e.id === id);
    const own = list.find((e) => e?.id === id);
    if (own) problems.error(at('approvals', 'endpoints', id), `${id} is an endpoint of this file: give its policy as its own approval`, { key: true });
    else if (!std) problems.error(at('approvals', 'endpoints', id), `no standard endpoint ${id}`, { key: true });
    else if (!holdable(id, std.method)) problems.error(at('approvals', 'endpoints', id), `${id} cannot require approval (it changes nothing, or is an approval itself)`, { key: true });
    else if (id.startsWith('migrations.') && !config.migrations) problems.error(at('approvals', 'endpoints', id), `${id} is not served: there is no migrations section`, { key: true });
  }

  // Migrations over commands.
  let migrations: PreparedMigrations | undefined;
  if (config.migrations) {
    const m = config.migrations;
    const where = at('migrations');
    const before = problems.errors;
    let parser: PreparedMigrations['parser'] | undefined;
    if (!m.status.parse) problems.error([...where, 'status', 'parse'], 'the status command needs parse: {regex: …} or {json: …}', { placeAt: [...where, 'status'] });
    else {
      try {
        parser = statusParser(m.status.parse);
      } catch (e) {
        problems.error([...where, 'status', 'parse'], (e as Error).message);
      }
    }
    const status = prepareCommand(m.status, [...where, 'status'], ctx, null, { defaultTimeoutMs: 60_000 });
    const needsTarget = (which: 'up' | 'down') => {
      const hasTarget = m[which].argv.slice(1).some((a) => { try { return parseTemplate(a).params.includes('target'); } catch { return false; } });
      if (!hasTarget) problems.error([...where, which, 'argv'], `the ${which} command must take {target} (the migration to ${which === 'up' ? 'apply up to' : 'revert down to'})`);
    };
    needsTarget('up');
    needsTarget('down');
    const up = prepareCommand(m.up, [...where, 'up'], ctx, null, { defaultTimeoutMs: 3_600_000, extraParams: ['target'] });
    const down = prepareCommand(m.down, [...where, 'down'], ctx, null, { defaultTimeoutMs: 3_600_000, extraParams: ['target'] });
    const progress: PreparedMigrations['progress'] = { up: undefined, down: undefined };
    const pattern = (src: string | undefined, p: ConfigPath): RegExp | undefined => {
      if (src === undefined) return undefined;
      try {
        const re = new RegExp(src);
        if (!/\(\?<name>/.test(src)) problems.error(p, 'the pattern needs a named group (?<name>…)');
        return re;
      } catch (e) {
        problems.error(p, `not a valid regular expression: ${(e as Error).message}`);
        return undefined;
      }
    };
    if (typeof m.progress === 'string') progress.up = progress.down = pattern(m.progress, [...where, 'progress']);
    else if (m.progress) {
      progress.up = pattern(m.progress.up, [...where, 'progress', 'up']);
      progress.down = pattern(m.progress.down, [...where, 'progress', 'down']);
    }
    if (m.lock?.postgres) postgres.migrationsLock = readSecret(m.lock.postgres.url, [...where, 'lock', 'postgres', 'url'], problems, ctx.resolvePath, ctx.env)?.value;
    else if (postgres.flags) postgres.migrationsLock = postgres.flags; // the lock lives where the shared data lives
    if (problems.errors === before && parser && status && up && down) {
      migrations = { status, parser, up, down, base: m.down.base ?? 'base', progress };
    }
  }

  // Health checks.
  const health: LoadedConfig['health'] = [];
  for (const [name, spec] of Object.entries(config.health ?? {})) {
    if (name === 'audit' || name === 'allowlist') {
      problems.error(at('health', name), `"${name}" is a check of the port itself; choose another name`, { key: true });
      continue;
    }
    const check = await prepareHealth(spec, at('health', name), ctx);
    if (check) health.push({ name, check });
  }

  // The upstream's own metrics.
  let scrape: PreparedScrape | undefined;
  const mu = config.metrics?.upstream;
  if (mu) {
    try {
      const upstream = await resolveUpstream(mu.upstream, ctx.resolvePath);
      scrape = { upstream, path: mu.path, host: mu.host ?? defaultHost(upstream), timeoutMs: durationMs(mu.timeout, 2000), maxBytes: mu.maxResponseBytes ?? 4 * 1024 * 1024 };
    } catch (e) {
      problems.error(at('metrics', 'upstream', 'upstream'), (e as Error).message);
    }
  }

  if (problems.errors) return undefined;
  return {
    file,
    dir,
    hash: '',
    config,
    paths: {
      dataDir,
      auditLog: config.auditLog !== undefined ? ctx.resolvePath(config.auditLog) : path.join(dataDir, 'audit.jsonl'),
      authorizedKeys,
      socket,
      signingKeyFile,
      flagsFile: config.flags?.store?.file !== undefined ? ctx.resolvePath(config.flags.store.file) : path.join(dataDir, 'flags.json'),
      grantsFile: config.grants?.store?.file !== undefined ? ctx.resolvePath(config.grants.store.file) : path.join(dataDir, 'grants.json'),
      approvalsFile: path.join(dataDir, 'approvals.json'),
      locksDir: path.join(dataDir, 'locks'),
    },
    host,
    ofrep,
    notify,
    endpoints,
    health,
    scrape,
    migrations,
    postgres,
  };
}
