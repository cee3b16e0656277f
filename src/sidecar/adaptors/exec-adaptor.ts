/**
 * exec endpoints: a command run as a server-owned job (docs/sidecar.md,
 * "exec"). Its stdout and stderr lines are the job's log, its exit status
 * the job's result and part of the job's final audit record; cancel and
 * timeout stop its whole process group; `lock` makes it one at a time.
 */
import { ProblemError } from '../../protocol/index.js';
import type { CustomEndpoint, JobContext, RequestContext } from '../../server/options.js';
import { durationMs, type Problems } from '../config/problems.js';
import type { ExecAdaptorSpec } from '../config/types.js';
import type { ConfigPath } from '../config/yaml-source.js';
import type { NamedLocks } from '../locks/named-locks.js';
import type { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import { commandArgs, commandEnv, endedAs, prepareCommand, runCommand, type PrepareEnv, type PreparedCommand } from './command.js';
import type { ParamsInfo } from './params-info.js';
import { templateText } from './param-guards.js';
import { fillTemplate, parseTemplate, type Template } from './template.js';

export interface PreparedExec {
  kind: 'exec';
  command: PreparedCommand;
  stdin: Template | undefined;
  lock: string | undefined;
  killGraceMs: number;
  allowOptionLike: boolean;
}

export function prepareExec(spec: ExecAdaptorSpec, where: ConfigPath, ctx: PrepareEnv, params: ParamsInfo): PreparedExec | undefined {
  const problems: Problems = ctx.problems;
  const command = prepareCommand(spec, where, ctx, params, { defaultTimeoutMs: 600_000 });
  let stdin: Template | undefined;
  if (spec.stdin !== undefined) {
    try {
      stdin = parseTemplate(spec.stdin);
      params.checkTemplate(stdin, [...where, 'stdin'], problems, 'stdin', { secretsAllowed: true });
    } catch (e) {
      problems.error([...where, 'stdin'], (e as Error).message);
    }
  }
  if (!command) return undefined;
  return { kind: 'exec', command, stdin, lock: spec.lock, killGraceMs: durationMs(spec.killGrace, 5000), allowOptionLike: spec.allowOptionLikeParams === true };
}

export interface ExecRuntime {
  locks: NamedLocks;
  metrics: SidecarMetrics;
}

/** What a run would be: argv, the environment's names, stdin's presence (values of secrets never). */
function describeRun(p: PreparedExec, params: Record<string, unknown>) {
  const args = commandArgs(p.command, params, { allowOptionLike: p.allowOptionLike });
  const env = commandEnv(p.command, params);
  if (p.stdin) fillTemplate(p.stdin, params, (v, n) => templateText(v, n));
  return { args, env };
}

/** The endpoint parts of an exec adaptor: params checked in the authorize stage, the lock in the request, the command as the job. */
export function execEndpoint(id: string, p: PreparedExec, rt: ExecRuntime): Pick<CustomEndpoint, 'job' | 'validate' | 'dryRun' | 'beforeJob'> {
  return {
    // Every template is filled once here: a value that cannot go into argv,
    // a variable or stdin is a 400 before anything is accepted or run.
    validate: (params) => { describeRun(p, params); },
    dryRun: async (params) => {
      const { args, env } = describeRun(p, params);
      let lock: string | undefined;
      if (p.lock) {
        const probe = await rt.locks.acquire(p.lock, `dry-run of ${id}`);
        if (probe.acquired) await rt.locks.release(p.lock, `dry-run of ${id}`);
        else lock = `held by ${probe.holder}${probe.since ? ` since ${probe.since}` : ''}`;
      }
      return {
        would: 'run',
        argv: [p.command.file, ...args],
        ...(p.command.cwd ? { cwd: p.command.cwd } : {}),
        env: Object.keys(env).sort(),
        stdin: p.stdin !== undefined,
        ...(p.lock ? { lock: { name: p.lock, state: lock ?? 'free' } } : {}),
        timeoutSeconds: p.command.timeoutMs / 1000,
      };
    },
    ...(p.lock ? {
      beforeJob: async (_params: Record<string, unknown>, ctx: RequestContext) => {
        const lock = p.lock!;
        const holder = `${ctx.principal.name} (${ctx.principal.keyid}) ${id} request ${ctx.requestId}`;
        const got = await rt.locks.acquire(lock, holder);
        if (!got.acquired) {
          throw new ProblemError('conflict.locked', `lock "${lock}" is held by ${got.holder}${got.since ? ` since ${got.since}` : ''}`, { holder: got.holder, lock, ...(got.since ? { since: got.since } : {}) });
        }
        return () => rt.locks.release(lock, holder);
      },
    } : {}),
    job: async (params: Record<string, unknown>, jc: JobContext) => {
      const { args, env } = describeRun(p, params);
      const stdin = p.stdin ? fillTemplate(p.stdin, params, (v, n) => templateText(v, n)) ?? '' : undefined;
      jc.log(`running ${[p.command.argv0, ...args].map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      const r = await rt.metrics.time(id, 'exec', async () => {
        const result = await runCommand(p.command, {
          args,
          env,
          ...(stdin !== undefined ? { stdin } : {}),
          onLine: (line) => jc.log(line),
          signal: jc.signal,
          timeoutMs: p.command.timeoutMs,
          killGraceMs: p.killGraceMs,
          maxStdoutBytes: 64 * 1024,
        }, id);
        jc.auditResult?.({ exitCode: result.exitCode, signal: result.signal, durationMs: result.durationMs, ...(result.timedOut ? { timedOut: true } : {}) });
        if (result.timedOut) throw new ProblemError('upstream.timeout', `${id}: the command ran longer than ${p.command.timeoutMs / 1000} s and was stopped (process group killed)`, { exitCode: result.exitCode, signal: result.signal });
        if (result.cancelled) throw new ProblemError('cancelled', `${id}: the command was cancelled (process group killed)`);
        if (result.exitCode !== 0) throw new ProblemError('upstream.error', `${id}: the command ${endedAs(result)}`, { exitCode: result.exitCode, signal: result.signal, tail: result.tail.slice(-5) });
        return result;
      });
      return { exitCode: r.exitCode, durationMs: r.durationMs, lines: r.lines, tail: r.tail };
    },
  };
}
