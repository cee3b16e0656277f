/**
 * `health:` checks (docs/sidecar.md, "Health"): an HTTP answer, a command's
 * exit status, or a socket command's answer, each within its own deadline
 * (2 s by default, which is also the most the port waits for a check).
 */
import type { HealthCheck } from '../../server/options.js';
import { commandArgs, commandEnv, endedAs, prepareCommand, runCommand, type PrepareEnv, type PreparedCommand } from '../adaptors/command.js';
import { checkSocket } from '../adaptors/http-adaptor.js';
import { socketExchange } from '../adaptors/socket-adaptor.js';
import { snippet } from '../adaptors/upstream-errors.js';
import { defaultHost, requestUpstream, resolveUpstream, type HttpUpstream } from '../adaptors/upstream-http.js';
import { durationMs } from '../config/problems.js';
import type { HealthSpec } from '../config/types.js';
import type { ConfigPath } from '../config/yaml-source.js';

export type PreparedHealth =
  | { kind: 'http'; upstream: HttpUpstream; path: string; host: string; expectStatus: number | undefined; timeoutMs: number }
  | { kind: 'exec'; command: PreparedCommand }
  | { kind: 'socket'; path: string; command: string; expect: RegExp | undefined; timeoutMs: number };

const DEFAULT_MS = 2000;

export async function prepareHealth(spec: HealthSpec, where: ConfigPath, ctx: PrepareEnv): Promise<PreparedHealth | undefined> {
  const before = ctx.problems.errors;
  if (spec.http) {
    const at = [...where, 'http'];
    try {
      const upstream = await resolveUpstream(spec.http.upstream, ctx.resolvePath);
      if (upstream.kind === 'unix') checkSocket(upstream.socketPath, [...at, 'upstream'], ctx);
      if (ctx.problems.errors > before) return undefined;
      return { kind: 'http', upstream, path: spec.http.path, host: spec.http.host ?? defaultHost(upstream), expectStatus: spec.http.expectStatus, timeoutMs: durationMs(spec.http.timeout, DEFAULT_MS) };
    } catch (e) {
      ctx.problems.error([...at, 'upstream'], (e as Error).message);
      return undefined;
    }
  }
  if (spec.exec) {
    const command = prepareCommand(spec.exec, [...where, 'exec'], ctx, null, { defaultTimeoutMs: DEFAULT_MS });
    return command ? { kind: 'exec', command } : undefined;
  }
  if (spec.socket) {
    const at = [...where, 'socket'];
    const path = ctx.resolvePath(spec.socket.path);
    checkSocket(path, [...at, 'path'], ctx);
    if (/[\r\n]/.test(spec.socket.command)) ctx.problems.error([...at, 'command'], 'the command must be one line');
    let expect: RegExp | undefined;
    if (spec.socket.expect !== undefined) {
      try {
        expect = new RegExp(spec.socket.expect, 'm');
      } catch (e) {
        ctx.problems.error([...at, 'expect'], `not a valid regular expression: ${(e as Error).message}`);
      }
    }
    if (ctx.problems.errors > before) return undefined;
    return { kind: 'socket', path, command: spec.socket.command, expect, timeoutMs: durationMs(spec.socket.timeout, DEFAULT_MS) };
  }
  ctx.problems.error(where, 'a health check needs one of http, exec, socket');
  return undefined;
}

/** The HealthCheck function the port calls on every GET /v1/health. */
export function healthCheck(name: string, h: PreparedHealth): HealthCheck {
  const what = `health check ${name}`;
  switch (h.kind) {
    case 'http':
      return async () => {
        try {
          const a = await requestUpstream(h.upstream, { method: 'GET', path: h.path, headers: { host: h.host }, timeoutMs: h.timeoutMs, maxBytes: 64 * 1024, what });
          const ok = h.expectStatus !== undefined ? a.status === h.expectStatus : a.status >= 200 && a.status < 300;
          return { ok, detail: `HTTP ${a.status}` };
        } catch (e) {
          return { ok: false, detail: (e as Error).message };
        }
      };
    case 'exec':
      return async () => {
        try {
          const r = await runCommand(h.command, { args: commandArgs(h.command, {}), env: commandEnv(h.command, {}), timeoutMs: h.command.timeoutMs, maxStdoutBytes: 4096 }, what);
          const last = r.tail[r.tail.length - 1];
          return { ok: r.exitCode === 0, detail: r.exitCode === 0 ? snippet(last ?? 'exit 0', 200) : `the command ${endedAs(r)}${last ? `: ${snippet(last, 200)}` : ''}` };
        } catch (e) {
          return { ok: false, detail: (e as Error).message };
        }
      };
    case 'socket':
      return async () => {
        try {
          const answer = await socketExchange(h.path, h.command, { timeoutMs: h.timeoutMs, maxBytes: 64 * 1024, what });
          const ok = h.expect ? h.expect.test(answer) : answer.trim().length > 0;
          return { ok, detail: ok ? 'answered' : `unexpected answer: ${snippet(answer, 200)}` };
        } catch (e) {
          return { ok: false, detail: (e as Error).message };
        }
      };
  }
}
