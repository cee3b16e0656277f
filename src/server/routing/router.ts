import { ROLES, pathParamNames, type EndpointDescriptor, type HttpMethod } from '../../protocol/index.js';
import { InternalPortConfigError } from '../config-error.js';
import { compileParams, validateOrThrow } from './params.js';
import type { RegisteredRoute, RouteDefinition } from './route.js';

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

export type RouteMatch =
  | { kind: 'found'; route: RegisteredRoute; pathParams: Record<string, string> }
  | { kind: 'method_not_allowed'; allowed: HttpMethod[] }
  | { kind: 'not_found' };

/**
 * The endpoint table. Every endpoint, standard or the service's own, goes
 * through register(); the catalog is exactly what was registered.
 */
export class Router {
  /** Every route with the group it was registered in ('' for none), in registration order. */
  private routes: Array<RegisteredRoute & { group: string }> = [];
  /**
   * Routes by their path's segment count, each with its template split once
   * (a string is a literal segment, a name in braces a placeholder): match()
   * is on every request's path, so it neither splits templates nor runs a
   * regex per route. Same answers as protocol matchPath().
   */
  private bySegments = new Map<number, Array<{ route: RegisteredRoute; segs: Array<string | { name: string }> }>>();

  /**
   * Adds one endpoint, or throws InternalPortConfigError (nothing added).
   * `group` names a set of routes that replaceGroup() can later swap as a
   * whole (the service's own endpoints).
   */
  register(def: RouteDefinition, group = ''): void {
    const where = `endpoint ${JSON.stringify(def?.id ?? '?')}`;
    const fail = (why: string): never => { throw new InternalPortConfigError(`${where} cannot be registered: ${why}`); };
    if (!def || typeof def.id !== 'string' || !/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/i.test(def.id)) fail('id must be a dotted name like "orders.stats"');
    if (!METHODS.includes(def.method)) fail(`method must be one of ${METHODS.join(', ')}`);
    if (typeof def.path !== 'string' || !def.path.startsWith('/v1/') || /[?#\s]/.test(def.path)) fail('path must start with /v1/ and have no query');
    if (typeof def.summary !== 'string' || !def.summary.trim()) fail('a summary is required');
    if (!ROLES.includes(def.role)) fail('a role (viewer, operator or admin) is required');
    if (!def.params || typeof def.params !== 'object' || def.params.type !== 'object') fail('a params JSON Schema of type "object" is required');
    if (typeof def.handler !== 'function') fail('a handler is required');
    for (const name of pathParamNames(def.path)) {
      if (!def.params.properties?.[name]) fail(`path parameter "${name}" is not described in the params schema`);
    }
    if (this.routes.some((r) => r.def.id === def.id)) fail('the id is already registered');
    const template = def.path.replace(/\{[^}]+\}/g, '{}');
    if (this.routes.some((r) => r.def.method === def.method && r.def.path.replace(/\{[^}]+\}/g, '{}') === template)) fail(`${def.method} ${def.path} is already registered`);
    let validate: ReturnType<typeof compileParams>;
    try {
      validate = compileParams(def.params, def.method);
    } catch (e) {
      return fail(`invalid params schema: ${(e as Error).message}`);
    }
    const descriptor: EndpointDescriptor = {
      id: def.id,
      method: def.method,
      path: def.path,
      summary: def.summary,
      description: def.description ?? def.summary,
      role: def.role,
      destructive: def.destructive === true,
      params: def.params,
      job: def.job === true,
      scope: def.scope ?? 'instance',
      ...(def.approval ? { approval: { ...def.approval } } : {}),
    };
    this.add({ def, descriptor, validate: (params) => validateOrThrow(validate, params), group });
  }

  /**
   * Replaces every route of `group` with `defs`, all or nothing: the new set
   * is checked in full (each definition as register() checks it, against
   * the routes outside the group and each other) before anything changes,
   * so a set with one bad definition throws and leaves the old set serving.
   * A request already routed keeps the route it matched.
   */
  replaceGroup(group: string, defs: RouteDefinition[]): void {
    if (!group) throw new Error('replaceGroup needs a group name');
    const next = new Router();
    for (const r of this.routes) if (r.group !== group) next.add(r);
    for (const def of defs) next.register(def, group);
    this.routes = next.routes;
    this.bySegments = next.bySegments;
  }

  private add(registered: RegisteredRoute & { group: string }): void {
    this.routes.push(registered);
    const segs = registered.def.path.split('/').map((seg) => {
      const m = /^\{([A-Za-z0-9_]+)\}$/.exec(seg);
      return m ? { name: m[1]! } : seg;
    });
    const same = this.bySegments.get(segs.length) ?? [];
    same.push({ route: registered, segs });
    this.bySegments.set(segs.length, same);
  }

  catalog(): EndpointDescriptor[] {
    return this.routes.map((r) => r.descriptor);
  }

  match(method: string, path: string): RouteMatch {
    const allowed: HttpMethod[] = [];
    let best: { route: RegisteredRoute; pathParams: Record<string, string>; n: number } | undefined;
    const actual = path.split('/');
    for (const { route, segs } of this.bySegments.get(actual.length) ?? []) {
      const params = matchSegments(segs, actual);
      if (!params) continue;
      if (route.def.method !== method) { allowed.push(route.def.method); continue; }
      // A literal segment beats a placeholder (/v1/flags/special over /v1/flags/{name}).
      const n = Object.keys(params).length;
      if (!best || n < best.n) best = { route, pathParams: params, n };
    }
    if (best) return { kind: 'found', route: best.route, pathParams: best.pathParams };
    return allowed.length ? { kind: 'method_not_allowed', allowed } : { kind: 'not_found' };
  }
}

/** protocol matchPath() over a template split in advance; `actual` has as many segments. */
function matchSegments(segs: ReadonlyArray<string | { name: string }>, actual: string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (typeof seg === 'string') {
      if (seg !== actual[i]) return null;
      continue;
    }
    let v: string;
    try { v = decodeURIComponent(actual[i]!); } catch { return null; }
    if (!v) return null;
    out[seg.name] = v;
  }
  return out;
}
