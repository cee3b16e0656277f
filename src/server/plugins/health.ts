import { PROTOCOL_VERSION } from '../../protocol/index.js';
import type { HealthCheck } from '../options.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

const CHECK_TIMEOUT_MS = 2000;

type CheckResult = { ok: boolean; detail?: string };

function asResult(r: boolean | CheckResult): CheckResult {
  if (typeof r === 'boolean') return { ok: r };
  return r.detail !== undefined ? { ok: r.ok === true, detail: String(r.detail) } : { ok: r.ok === true };
}

function failed(e: unknown): CheckResult {
  return { ok: false, detail: (e as Error)?.message ?? String(e) };
}

/**
 * Runs one check: a synchronous answer is taken as it is (no timer, no
 * promise: health is asked often, e.g. by fleet rollouts and load
 * balancers); a promise gets CHECK_TIMEOUT_MS.
 */
function runCheck(check: HealthCheck): CheckResult | Promise<CheckResult> {
  let r: ReturnType<HealthCheck>;
  try {
    r = check();
  } catch (e) {
    return failed(e);
  }
  if (typeof (r as { then?: unknown } | null)?.then !== 'function') return asResult(r as boolean | CheckResult);
  return withDeadline(Promise.resolve(r)).then(asResult, failed);
}

/**
 * Checks still waiting for their answer, each with the time it gives up.
 * One timer watches them all (armed while any waits), instead of a timer
 * set and cleared per check per request: health is asked at request rate.
 */
const waiting = new Set<{ until: number; fail: (e: Error) => void }>();
let watchdog: NodeJS.Timeout | undefined;

function withDeadline<T>(p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = { until: performance.now() + CHECK_TIMEOUT_MS, fail: reject };
    waiting.add(w);
    watchdog ??= setTimeout(expire, CHECK_TIMEOUT_MS).unref();
    p.then((v) => { waiting.delete(w); resolve(v); }, (e: unknown) => { waiting.delete(w); reject(e as Error); });
  });
}

function expire(): void {
  watchdog = undefined;
  const now = performance.now();
  let next = Infinity;
  for (const w of waiting) {
    if (w.until <= now) {
      waiting.delete(w);
      w.fail(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`));
    } else {
      next = Math.min(next, w.until);
    }
  }
  if (next !== Infinity) watchdog = setTimeout(expire, Math.max(1, next - now)).unref();
}

/**
 * A check's detail without absolute paths: health is open to every viewer,
 * who has no business learning the service host's layout (where the audit
 * log or the data dir live). `/var/lib/app/audit.jsonl` becomes
 * `…/audit.jsonl`; the service log keeps the full message.
 */
export function withoutPaths(detail: string): string {
  return detail.replace(/(^|[\s'"`(=:,[])(?:~|\.{1,2})?(?:\/[^\s'"`:,;()[\]{}<>/]+)+\/?/g, (m, lead: string) => {
    const p = m.slice(lead.length).replace(/\/$/, '');
    const base = p.slice(p.lastIndexOf('/') + 1);
    return `${lead}…/${base}`;
  });
}

/** GET /v1/health: identity, uptime, server time (for the CLI's clock-skew check), checks. */
export function registerHealth(ctx: PluginContext): void {
  ctx.register(standardRoute('health', {
    handler: async () => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      checks.audit = ctx.audit.healthy ? { ok: true } : { ok: false, detail: ctx.audit.error ?? 'audit log cannot be written' };
      // Audit shipping: a sink that is down, or dropped records since it last delivered, is degraded.
      for (const s of ctx.audit.sinkStatus) {
        checks[`audit-sink ${s.name}`] = s.problem ? { ok: false, detail: `${s.problem}; ${s.dropped} record(s) dropped so far` } : { ok: true, detail: `${s.dropped} record(s) dropped so far` };
      }
      // Event delivery: an endpoint failing past the threshold, given up on, or gone (410) is degraded.
      if (ctx.notifier) Object.assign(checks, ctx.notifier.healthChecks());
      // The key that signs audit checkpoints, for operators to pin (src/server/README.md, "Audit log").
      const auditKey = ctx.audit.signingKey;
      // As loaded when this request was authenticated (a lookup stats the file): no second stat.
      const keys = ctx.allowlist.loadedSize;
      checks.allowlist = { ok: keys > 0, detail: `${keys} key(s)` };
      const entries = Object.entries(ctx.options.healthChecks ?? {});
      const results = entries.map(([, c]) => runCheck(c));
      const settled = results.some((r) => r instanceof Promise) ? await Promise.all(results) : results as CheckResult[];
      entries.forEach(([name], i) => { checks[name] = settled[i]!; });
      for (const c of Object.values(checks)) if (c.detail !== undefined) c.detail = withoutPaths(c.detail);
      const ok = Object.values(checks).every((c) => c.ok);
      return {
        body: {
          service: ctx.options.service.name,
          version: ctx.options.service.version,
          protocol: PROTOCOL_VERSION,
          uptimeSeconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
          time: new Date().toISOString(),
          status: ok ? 'ok' : 'degraded',
          checks,
          audit: { publicKey: auditKey.publicKey, keyid: auditKey.keyid },
          // The key of every delivery's v1a signature, for receivers to pin (docs/notifications.md).
          ...(ctx.notifier ? { notify: { publicKey: ctx.notifier.publicKey } } : {}),
        },
      };
    },
  }));
}
