/**
 * Runs one command over the hosts of a fleet (docs/fleet.md): a
 * service-scoped command once, on the first host whose health is ok or
 * degraded; an instance-scoped one on every host, in parallel up to
 * --max-concurrency, changes in --batch waves within the --max-errors
 * budget. A job's commands (status, logs, wait, cancel) go to the host that
 * runs the job. Each host runs the command's own action in its own target
 * scope (its output recorded), and one renderer merges the hosts.
 */
import { STANDARD_ENDPOINTS, type Catalog, type EndpointDescriptor } from '../../protocol/catalog.js';
import { ExitCode } from '../../protocol/exit-codes.js';
import type { Factory } from '../factory.js';
import type { Client } from '../client/client.js';
import type { Tunnel } from '../transport/types.js';
import { reportError } from '../errors/exit-code.js';
import { OperationError } from '../errors/operation-error.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import { RecordingOutput } from '../render/recording-output.js';
import { fleetDocument, fleetExitCode, fleetSummaryLine, renderFleetHuman, renderFleetProblems, type HostOutcome } from '../render/fleet-render.js';
import { sanitizeHost } from '../render/host-label.js';
import { createFleetConnector, type FleetConnector } from './connect-fleet.js';
import { endpointOfCommand, scopeNeedsCatalog, streamsLines } from './fleet-scope.js';
import { runForTarget, type TargetScope } from './target-scope.js';
import { errorBudget, waveSizes } from './waves.js';
import { forgetJobHost, recallJobHost, rememberJobHost } from './job-hosts.js';

/** Endpoints about one job, whose id is the command's first argument: they go to the job's host. */
const JOB_ENDPOINTS = new Set(['jobs.get', 'jobs.events', 'jobs.cancel']);

interface HealthAnswer {
  status?: string;
}

type Action = () => Promise<unknown>;

export interface FleetRun {
  /** The command path, e.g. "flags set". */
  path: string;
  args: unknown[];
  /** The command's own options (--follow, --watch …). */
  options?: Record<string, unknown>;
  action: Action;
  /** The endpoint of a service command (src/cli/service-commands); built-in commands are looked up by path. */
  endpointId?: string;
}

async function limitParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, shouldStop: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !shouldStop()) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function runFleet(f: Factory, run: FleetRun): Promise<void> {
  const ctx = await f.context();
  const g = f.globals();
  const out = await f.output();
  const identity = await f.identity();
  const { Client } = await import('../client/client.js');
  const connector: FleetConnector = await createFleetConnector(f, ctx);
  const { reviewHooks } = await import('../approvals/review-hooks.js');
  const review = reviewHooks(f);
  const { instanceMemory, instanceTarget } = await import('../client/instance-memory.js');
  const clientFor = (host: string) => (t: Tunnel): Client =>
    new Client(t, identity, { ...(g.reason ? { reason: g.reason } : {}), review, instance: instanceMemory(f.io.env, instanceTarget(ctx.bastions, host, ctx.port)) });
  const unreachable = new Map<string, HostOutcome>();

  /** A quick signed call on a fresh tunnel (health, catalog), closing it after. */
  const ask = async <T>(host: string, endpoint: string, params?: Record<string, unknown>): Promise<T> => {
    const t = await connector.open(host);
    try {
      return await clientFor(host)(t).call<T>(endpoint, params);
    } finally {
      await t.close().catch(() => undefined);
    }
  };
  const failure = (host: string, e: unknown): HostOutcome => {
    const r = reportError(e);
    const code = (e as { code?: unknown })?.code;
    return { host, status: 'failed', exitCode: r.exitCode, items: [], error: { message: r.message || String(e), ...(typeof code === 'string' ? { code } : {}) } };
  };

  const streaming = streamsLines(run.path, run.options ?? {});
  if (streaming) out.beginStream();
  try {
    const endpointId = endpointOfCommand(run.path, run.args, run.endpointId)!;
    let descriptor: EndpointDescriptor | undefined = STANDARD_ENDPOINTS.find((e) => e.id === endpointId);
    if (scopeNeedsCatalog(endpointId, descriptor !== undefined)) {
      // The service decides (a shared flag store, its own endpoints): ask the first host that answers.
      for (const host of ctx.hosts) {
        try {
          const cat = await ask<Catalog>(host, 'catalog');
          descriptor = cat.endpoints.find((e) => e.id === endpointId) ?? descriptor;
          break;
        } catch (e) {
          unreachable.set(host, failure(host, e));
          f.debug(`catalog from ${host} failed: ${(e as Error).message}`);
        }
      }
    }
    const scope = descriptor?.scope ?? 'instance';
    const mutation = descriptor ? descriptor.method !== 'GET' : false;

    const runOn = async (host: string, globals = g): Promise<HostOutcome> => {
      const rec = new RecordingOutput(f.io, g.output, out.colors, host);
      let tunnel: Promise<Tunnel> | undefined;
      let client: Promise<Client> | undefined;
      const target: TargetScope = {
        host,
        globals,
        output: rec,
        tunnel: () => (tunnel ??= connector.open(host)),
        client: () => (client ??= target.tunnel().then(clientFor(host))),
      };
      try {
        await runForTarget(target, run.action);
        return { host, status: 'ok', exitCode: 0, items: rec.items };
      } catch (e) {
        return { ...failure(host, e), items: rec.items };
      } finally {
        if (tunnel) await (await tunnel.catch(() => undefined))?.close().catch(() => undefined);
      }
    };

    let outcomes: HostOutcome[];
    if (JOB_ENDPOINTS.has(endpointId) && typeof run.args[0] === 'string') {
      outcomes = [await runOnJobHost(run.args[0])];
    } else if (scope === 'service') {
      outcomes = [await runOnce(ctx.hosts)];
    } else {
      outcomes = await runEverywhere(ctx.hosts);
    }

    /** The command on one chosen host: printed (and asked) as with one host, or one host in the fleet document. */
    async function runSingle(host: string): Promise<HostOutcome> {
      if (!g.output || g.output === 'table') {
        const target: TargetScope = {
          host,
          globals: g,
          output: out,
          tunnel: (() => {
            let t: Promise<Tunnel> | undefined;
            return () => (t ??= connector.open(host));
          })(),
          client: () => target.tunnel().then(clientFor(host)),
        };
        try {
          await runForTarget(target, run.action);
          return { host, status: 'ok', exitCode: 0, items: [] };
        } catch (e) {
          return failure(host, e);
        }
      }
      return runOn(host);
    }

    async function runOnJobHost(id: string): Promise<HostOutcome> {
      const targetOf = (h: string) => instanceTarget(ctx.bastions, h, ctx.port);
      const noted = recallJobHost(f.io.env, id, ctx.hosts, targetOf);
      if (noted) {
        out.note(out.colors.dim(`job ${id} runs on ${sanitizeHost(noted)} (noted when it was started or listed)`));
        const o = await runSingle(noted);
        if (o.error?.code !== 'not_found') return o;
        // That replica no longer knows the job (restarted, or it was forgotten): look everywhere.
        forgetJobHost(f.io.env, id);
        out.note(`job ${id} is no longer on ${sanitizeHost(noted)}; asking every host`);
      }
      const found: string[] = [];
      const missing: string[] = [];
      const failed: HostOutcome[] = [];
      await limitParallel(ctx.hosts, g.maxConcurrency ?? 16, async (h) => {
        try {
          await ask(h, 'jobs.get', { id });
          found.push(h);
        } catch (e) {
          if ((e as { code?: unknown })?.code === 'not_found') missing.push(h);
          else failed.push(failure(h, e));
        }
      }, () => found.length > 0);
      const host = ctx.hosts.find((h) => found.includes(h));
      if (host) {
        rememberJobHost(f.io.env, [id], host, targetOf(host));
        out.note(out.colors.dim(`job ${id} found on ${sanitizeHost(host)}`));
        return runSingle(host);
      }
      const asked = ctx.hosts.map(sanitizeHost).join(', ');
      if (!failed.length) {
        return { host: ctx.hosts.join(','), status: 'failed', exitCode: ExitCode.USAGE, items: [], error: { message: `job ${id} not found on any host (asked ${asked})`, code: 'not_found' } };
      }
      // The job may be on a host that did not answer: that is a connection failure, not a typo.
      const why = ctx.hosts.flatMap((h) => failed.filter((o) => o.host === h)).map((o) => `${sanitizeHost(o.host)}: ${o.error?.message ?? 'failed'}`).join('; ');
      return {
        host: ctx.hosts.join(','),
        status: 'failed',
        exitCode: fleetExitCode(failed),
        items: [],
        error: { message: `job ${id} not found on the hosts that answered (${ctx.hosts.filter((h) => missing.includes(h)).map(sanitizeHost).join(', ') || 'none'}); could not ask ${why}`, ...(failed[0]?.error?.code ? { code: failed[0].error.code } : {}) },
      };
    }

    async function runOnce(hosts: string[]): Promise<HostOutcome> {
      // Once for the whole service: the first host that answers and is not failing.
      const tried: string[] = [];
      for (const host of hosts) {
        let status: string | undefined;
        try {
          status = (await ask<HealthAnswer>(host, 'health')).status ?? 'ok';
        } catch (e) {
          tried.push(`${sanitizeHost(host)}: ${reportError(e).message}`);
          unreachable.set(host, failure(host, e));
          continue;
        }
        if (status !== 'ok' && status !== 'degraded') {
          tried.push(`${sanitizeHost(host)}: health ${status}`);
          continue;
        }
        if (tried.length) out.note(`skipped ${tried.join('; ')}`);
        out.note(out.colors.dim(`${endpointId} is service-scoped: sent once, to ${sanitizeHost(host)}`));
        return runSingle(host);
      }
      const last = [...unreachable.values()].at(-1);
      return {
        host: hosts.join(','),
        status: 'failed',
        exitCode: unreachable.size === hosts.length ? 5 : 1,
        items: [],
        error: { message: `no host is reachable and healthy (${tried.join('; ')})`, ...(last?.error?.code ? { code: last.error.code } : {}) },
      };
    }

    async function runEverywhere(hosts: string[]): Promise<HostOutcome[]> {
      const results = new Map<string, HostOutcome>();
      let globals = g;
      if (mutation && !g.yes && (descriptor?.destructive || endpointId === 'tasks.run')) {
        // One question for the whole fleet, naming how many hosts and which.
        const prompter = f.prompter();
        const list = hosts.map(sanitizeHost).join(', ');
        if (!prompter.interactive) throw new NotConfirmedError(`refusing to run ${run.path} on ${hosts.length} hosts without confirmation: not running interactively and --yes not given; nothing was sent`);
        if (!(await prompter.confirm(`Run ${run.path} on ${hosts.length} hosts (${list})?`, false))) throw new NotConfirmedError('not confirmed; nothing was changed');
        globals = { ...g, yes: true };
      }
      const budget = mutation ? errorBudget(g.maxErrors, hosts.length) : Infinity;
      const waves = mutation ? waveSizes(g.batch, hosts.length) : [hosts.length];
      const failedCount = () => [...results.values()].filter((o) => o.status === 'failed').length;
      let halted: string | undefined;
      const before = new Map<string, string>();
      if (mutation && g.batch) {
        // Health before the run: a host degraded before we touched it may stay degraded.
        await limitParallel(hosts, g.maxConcurrency ?? 16, async (h) => {
          before.set(h, await ask<HealthAnswer>(h, 'health').then((x) => x.status ?? 'ok', () => 'unreachable'));
        }, () => false);
      }
      let done = 0;
      for (const [w, upTo] of waves.entries()) {
        const wave = hosts.slice(done, upTo);
        await limitParallel(wave, g.maxConcurrency ?? 16, async (h) => {
          results.set(h, await runOn(h, globals));
        }, () => failedCount() > budget);
        done = upTo;
        if (failedCount() > budget) {
          halted = `more than ${budget} host(s) failed (--max-errors ${g.maxErrors ?? 0})`;
          break;
        }
        if (w < waves.length - 1) {
          const doneHosts = hosts.slice(0, done);
          const unhealthy: string[] = [];
          await limitParallel(doneHosts, g.maxConcurrency ?? 16, async (h) => {
            const st = await ask<HealthAnswer>(h, 'health').then((x) => x.status ?? 'ok', () => 'unreachable');
            if (st !== 'ok' && !(st === 'degraded' && before.get(h) === 'degraded')) unhealthy.push(`${sanitizeHost(h)} ${st}`);
          }, () => false);
          if (unhealthy.length) {
            halted = `halted after wave ${w + 1}: ${unhealthy.join(', ')}`;
            break;
          }
        }
      }
      return hosts.map((h) => results.get(h) ?? { host: h, status: 'skipped', exitCode: null, items: [], error: { message: halted ?? 'not run' } });
    }

    // A stream (--follow, --watch) under -o json stays NDJSON to its last line.
    if (g.output === 'json') out.printJson(streaming ? fleetSummaryLine(outcomes) : fleetDocument(outcomes));
    else renderFleetHuman(out, outcomes);
    // With -o json each host's error is in the document on stdout, and stderr
    // carries only the one error object (README, "Exit codes"); a human gets
    // the failed hosts and the tally instead.
    if (g.output !== 'json' && (outcomes.length > 1 || outcomes.some((o) => o.status !== 'ok'))) renderFleetProblems(out, outcomes);
    const code = fleetExitCode(outcomes);
    if (code !== 0) {
      const failed = outcomes.filter((o) => o.status === 'failed').length;
      const skipped = outcomes.filter((o) => o.status === 'skipped').length;
      // A human has the tally on stderr already (renderFleetProblems); this names it for -o json.
      const message = `${failed} of ${outcomes.length} host(s) failed${skipped ? `, ${skipped} skipped` : ''}`;
      throw new OperationError(message, code, { code: 'fleet.failed', shown: true });
    }
  } finally {
    await connector.close();
  }
}
