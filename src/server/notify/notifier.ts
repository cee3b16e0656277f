import os from 'node:os';
import type { NotifyEndpointStatus, NotifyEvent, NotifyStatus, NotifyTestResult } from '../../protocol/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { PortLog } from '../logger.js';
import type { NotifyDelivery, NotifyQueueStore } from '../options.js';
import { randomId } from '../random-id.js';
import { Commands, eventId, type EventDraft } from './events.js';
import type { NotifySettings, ResolvedEndpoint } from './notify-config.js';
import { postOnce, type PostResult } from './post-once.js';
import { slackMessage } from './slack-message.js';
import { hmacSignature, type NotifySigningKey } from './webhook-signature.js';

export interface NotifierOptions {
  service: string;
  instanceId: string;
  endpoints: ResolvedEndpoint[];
  settings: NotifySettings;
  store: NotifyQueueStore;
  key: NotifySigningKey;
  audit: AuditLog;
  log: PortLog;
}

/** Per endpoint: what health, metrics and notify.status report. */
interface EndpointState {
  ep: ResolvedEndpoint;
  inflight: number;
  consecutiveFailures: number;
  delivered: number;
  failed: number;
  dropped: number;
  /** Set once failing was audited, until the next success. */
  failing: boolean;
  /** A delivery was given up since the last success. */
  gaveUp: boolean;
  disabled: boolean;
  lastSuccessAt: string | null;
  lastFailure: { at: string; status: number | null; error: string } | null;
}

/**
 * Event notifications (docs/notifications.md). emit() puts an event on the
 * durable queue and returns at once: nothing a receiver does (hang, refuse,
 * answer slowly) is ever on a request's path. A worker per process takes
 * due deliveries from the queue (leased, so with a shared store one replica
 * sends each), a bounded number per endpoint at a time, each attempt bounded
 * by the timeout; a failure is retried with exponential backoff and jitter
 * until giveUpAfter; a 410 stops that endpoint. Failed attempts are counted,
 * health turns degraded after failureThreshold in a row, and the changes
 * (failing, recovered, gave up, disabled) are audit records of type `notify`.
 */
export class Notifier {
  readonly commands: Commands;
  private readonly states: EndpointState[];
  private readonly worker = `${os.hostname()}:${process.pid}:${randomId(8)}`;
  private readonly host = os.hostname();
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;
  private closed = false;
  private enqueueing: Promise<void> = Promise.resolve();
  private readonly attempts = new Set<Promise<void>>();
  private unwatch: (() => void) | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly o: NotifierOptions) {
    this.commands = new Commands(o.settings.command);
    this.states = o.endpoints.map((ep) => ({ ep, inflight: 0, consecutiveFailures: 0, delivered: 0, failed: 0, dropped: 0, failing: false, gaveUp: false, disabled: false, lastSuccessAt: null, lastFailure: null }));
  }

  get publicKey(): string {
    return this.o.key.publicKey;
  }

  /** Starts the worker: what was queued before a restart is due again at once. */
  start(): void {
    this.unwatch = this.o.store.watch?.(() => this.kick());
    this.kick();
  }

  /**
   * Queues an event for every endpoint whose filter takes it. Returns at
   * once; the promise (which never rejects) settles once it is stored, for
   * those who want to wait (tests, close()).
   */
  emit(draft: EventDraft): Promise<void> {
    if (this.closed) return Promise.resolve();
    const event: NotifyEvent = {
      type: draft.type,
      timestamp: draft.at,
      data: { service: this.o.service, instance: this.o.instanceId, host: this.host, ...draft.data },
    };
    const msgId = eventId(this.o.service, draft.key);
    const now = new Date().toISOString();
    const items: NotifyDelivery[] = this.states
      .filter((s) => !s.disabled && s.ep.accepts(event.type))
      .map((s) => ({ id: `${msgId}.${s.ep.key}`, msgId, endpoint: s.ep.key, type: event.type, body: this.body(s.ep, event), createdAt: now, attempts: 0, nextAt: now }));
    if (!items.length) return Promise.resolve();
    this.enqueueing = this.enqueueing
      .then(() => this.o.store.enqueue(items))
      .then(() => this.kick(), (e: Error) => this.o.log('error', `notification ${event.type} (${msgId}) could not be queued: ${e.message}`));
    return this.enqueueing;
  }

  private body(ep: ResolvedEndpoint, event: NotifyEvent): string {
    return JSON.stringify(ep.kind === 'slack' ? slackMessage(event) : event);
  }

  private headers(ep: ResolvedEndpoint, msgId: string, body: string): Record<string, string> {
    if (ep.kind === 'slack') return {};
    const ts = Math.floor(Date.now() / 1000);
    const sigs = [...(ep.hmac ? [hmacSignature(ep.hmac, msgId, ts, body)] : []), this.o.key.signature(msgId, ts, body)];
    return { 'webhook-id': msgId, 'webhook-timestamp': String(ts), 'webhook-signature': sigs.join(' ') };
  }

  /** Asks the queue for work now (after an enqueue, a finished attempt, a notice from another replica). */
  private kick(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (const s of this.states) {
          const free = this.o.settings.concurrency - s.inflight;
          if (s.disabled || free <= 0 || this.closed) continue;
          const claimed = await this.o.store.claim(this.worker, [s.ep.key], free, this.o.settings.timeoutMs + 30_000);
          for (const d of claimed) this.track(this.attempt(s, d));
        }
      } while (this.again && !this.closed);
      await this.schedule();
    } catch (e) {
      this.o.log('error', `notification queue: ${(e as Error).message}`);
      this.arm(this.o.settings.pollMs);
    } finally {
      this.pumping = false;
    }
  }

  private track(p: Promise<void>): void {
    this.attempts.add(p);
    void p.finally(() => this.attempts.delete(p));
  }

  /** The next look at the queue: when the next delivery is due, and at least every pollSeconds with a shared store. */
  private async schedule(): Promise<void> {
    const keys = this.states.filter((s) => !s.disabled).map((s) => s.ep.key);
    const next = keys.length ? await this.o.store.nextDue(keys) : undefined;
    let delay = next === undefined ? Infinity : Math.max(0, next - Date.now());
    if (this.o.store.shared) delay = Math.min(delay, this.o.settings.pollMs);
    if (delay !== Infinity) this.arm(delay);
  }

  private arm(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    // A due delivery whose endpoint is at its concurrency waits for an attempt to end (which kicks), not for a busy timer.
    this.timer = setTimeout(() => this.kick(), Math.min(Math.max(ms, 5), 2 ** 31 - 1));
    this.timer.unref();
  }

  private async attempt(s: EndpointState, d: NotifyDelivery): Promise<void> {
    s.inflight++;
    try {
      const r = await this.send(s.ep, d.msgId, d.body, this.stopping.signal);
      // Cut short by close(): left leased, so it is due again after the next start (or the lease, on another replica).
      if (this.stopping.signal.aborted) return;
      if (r.status !== null && r.status >= 200 && r.status < 300) await this.succeeded(s, d);
      else await this.failedAttempt(s, d, r);
    } catch (e) {
      this.o.log('error', `notification ${d.type} to ${s.ep.name}: ${(e as Error).message}`);
    } finally {
      s.inflight--;
      this.kick();
    }
  }

  private send(ep: ResolvedEndpoint, msgId: string, body: string, signal?: AbortSignal): Promise<PostResult> {
    return postOnce(ep.url, body, this.headers(ep, msgId, body), this.o.settings.timeoutMs, signal);
  }

  private async succeeded(s: EndpointState, d: NotifyDelivery): Promise<void> {
    await this.o.store.complete(d.id, this.worker);
    s.delivered++;
    s.lastSuccessAt = new Date().toISOString();
    const was = s.failing || s.gaveUp;
    s.consecutiveFailures = 0;
    s.failing = false;
    s.gaveUp = false;
    if (was) this.record(s, 'recovered', d, null, `${s.ep.name} takes deliveries again`);
  }

  private async failedAttempt(s: EndpointState, d: NotifyDelivery, r: PostResult): Promise<void> {
    const error = r.error ?? `HTTP ${r.status}`;
    s.failed++;
    s.consecutiveFailures++;
    s.lastFailure = { at: new Date().toISOString(), status: r.status, error };
    this.o.log('warn', `notification ${d.type} (${d.msgId}) to ${s.ep.name}: attempt ${d.attempts} failed: ${error}`);
    if (r.status === 410) {
      // The receiver says it wants nothing more (Standard Webhooks): stop sending to it.
      await this.o.store.drop(d.id, this.worker, 'the receiver answered 410 Gone');
      s.dropped++;
      s.gaveUp = true;
      s.disabled = true;
      this.record(s, 'disabled', d, r, `${s.ep.name} answered 410 Gone: no more deliveries to it until the port restarts with it configured; deliveries already queued wait`);
      return;
    }
    if (s.consecutiveFailures >= this.o.settings.failureThreshold && !s.failing) {
      s.failing = true;
      this.record(s, 'failing', d, r, `${s.consecutiveFailures} deliveries to ${s.ep.name} failed in a row; retrying with backoff`);
    }
    const now = Date.now();
    const end = Date.parse(d.createdAt) + this.o.settings.giveUpAfterMs;
    if (now >= end) {
      await this.o.store.drop(d.id, this.worker, error);
      s.dropped++;
      s.gaveUp = true;
      this.record(s, 'gave-up', d, r, `gave up on ${d.type} to ${s.ep.name} after ${d.attempts} attempts over ${Math.round((now - Date.parse(d.createdAt)) / 1000)} s`);
      return;
    }
    await this.o.store.retry(d.id, this.worker, new Date(Math.min(end, now + this.delay(d.attempts, r))).toISOString(), { status: r.status, error });
  }

  /** Exponential backoff from firstDelay, doubled per failed attempt up to maxDelay, ±25 % jitter; a Retry-After is honoured up to maxDelay. */
  delay(attempts: number, r?: Pick<PostResult, 'retryAfterMs'>): number {
    const { firstDelayMs, maxDelayMs } = this.o.settings;
    const base = Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(40, Math.max(0, attempts - 1)));
    const jittered = base * (0.75 + Math.random() * 0.5);
    return Math.min(maxDelayMs, Math.max(jittered, r?.retryAfterMs ?? 0));
  }

  /** A `notify` system record: the chain says when delivery to a receiver broke, came back, or lost an event. */
  private record(s: EndpointState, event: 'failing' | 'recovered' | 'gave-up' | 'disabled', d: NotifyDelivery, r: PostResult | null, reason: string): void {
    this.o.audit.append({
      type: 'notify',
      event,
      endpoint: s.ep.name,
      webhookId: d.msgId,
      eventType: d.type,
      attempts: d.attempts,
      ...(r ? { status: r.status, error: r.error ?? null } : {}),
      reason,
    }).catch(() => this.o.log('error', `the notification record (${event}, ${s.ep.name}) could not be written to the audit log`));
  }

  /** Sends a notify.test event to each endpoint (or the one named) now, not queued, and reports each answer. */
  async test(principal: string, reason: string | null, only?: string): Promise<NotifyTestResult[]> {
    const states = this.states.filter((s) => only === undefined || s.ep.name === only);
    const at = new Date().toISOString();
    return Promise.all(states.map(async (s) => {
      const event: NotifyEvent = {
        type: 'notify.test',
        timestamp: at,
        data: { service: this.o.service, instance: this.o.instanceId, host: this.host, endpoint: 'notify.test', principal, reason, message: 'a test event: this endpoint receives and verifies the port\'s deliveries', command: this.commands.status() },
      };
      const msgId = eventId(this.o.service, `notify.test/${randomId(16)}`);
      const r = await this.send(s.ep, msgId, this.body(s.ep, event));
      const ok = r.status !== null && r.status >= 200 && r.status < 300;
      return { endpoint: s.ep.name, kind: s.ep.kind, ok, status: r.status, ...(ok ? {} : { error: r.error ?? `HTTP ${r.status}` }), webhookId: msgId, ms: r.ms };
    }));
  }

  has(name: string): boolean {
    return this.states.some((s) => s.ep.name === name);
  }

  private stateOf(s: EndpointState): NotifyEndpointStatus['state'] {
    if (s.disabled) return 'disabled';
    return s.failing || s.gaveUp ? 'failing' : 'ok';
  }

  status(): NotifyStatus {
    return {
      publicKey: this.publicKey,
      endpoints: this.states.map((s) => ({
        name: s.ep.name,
        kind: s.ep.kind,
        events: s.ep.events,
        hmac: s.ep.hmac !== undefined,
        state: this.stateOf(s),
        consecutiveFailures: s.consecutiveFailures,
        delivered: s.delivered,
        failed: s.failed,
        droppedDeliveries: s.dropped,
        lastSuccessAt: s.lastSuccessAt,
        lastFailure: s.lastFailure,
      })),
    };
  }

  /** Health checks, one per endpoint: failing (degraded) after failureThreshold failures in a row, a delivery given up, or a 410. */
  healthChecks(): Record<string, { ok: boolean; detail: string }> {
    const out: Record<string, { ok: boolean; detail: string }> = {};
    for (const s of this.states) {
      const state = this.stateOf(s);
      const last = s.lastFailure ? `; last failure: ${s.lastFailure.error}` : '';
      out[`notify ${s.ep.name}`] = state === 'ok'
        ? { ok: true, detail: `${s.delivered} delivered${s.consecutiveFailures ? `, ${s.consecutiveFailures} failed attempt(s) in a row${last}` : ''}` }
        : { ok: false, detail: state === 'disabled' ? `disabled: the receiver answered 410 Gone${last}` : `${s.consecutiveFailures} failed attempt(s) in a row, ${s.dropped} delivery(ies) given up${last}` };
    }
    return out;
  }

  /** For the metrics: failed attempts, deliveries, given-up deliveries by endpoint name. */
  counts(): Array<{ endpoint: string; failed: number; delivered: number; dropped: number }> {
    return this.states.map((s) => ({ endpoint: s.ep.name, failed: s.failed, delivered: s.delivered, dropped: s.dropped }));
  }

  /** Deliveries waiting, by endpoint name. */
  async pendingCounts(): Promise<Record<string, number>> {
    const byKey = await this.o.store.pending(this.states.map((s) => s.ep.key));
    return Object.fromEntries(this.states.map((s) => [s.ep.name, byKey[s.ep.key] ?? 0]));
  }

  /**
   * Stops: events emitted so far are stored first (they go out after the
   * next start); attempts in flight are cut short and stay queued, so a
   * hanging receiver never holds a shutdown up.
   */
  async close(): Promise<void> {
    await this.enqueueing;
    this.closed = true;
    clearTimeout(this.timer);
    this.unwatch?.();
    this.stopping.abort();
    await Promise.allSettled([...this.attempts]);
    await this.o.store.close?.();
  }
}
