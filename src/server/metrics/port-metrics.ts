import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobState } from '../jobs/job.js';

/** The port's own metrics, in a registry of its own (several ports may share a process). */
export class PortMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'status'>;
  private readonly denied: Counter<'code'>;
  private readonly duration: Histogram<'endpoint'>;
  private readonly unverified: Counter<'limit'>;
  private readonly ofrepRequests: Counter<'endpoint' | 'status'>;

  /** `replayCache`: the nonce cache's size and cap, reported as gauges (src/server/README.md, "Performance"). */
  constructor(jobStates: () => Record<JobState, number>, replayCache?: () => { entries: number; capacity: number }) {
    this.requests = new Counter({ name: 'opsctl_internal_requests_total', help: 'Requests to the internal port by endpoint and status', labelNames: ['endpoint', 'status'], registers: [this.registry] });
    this.denied = new Counter({ name: 'opsctl_internal_denied_total', help: 'Requests refused before running, by problem code', labelNames: ['code'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'opsctl_internal_request_duration_seconds',
      help: 'Internal port request duration',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    // OFREP reads are not audited one by one (src/server/README.md, "OFREP"): this is what counts them.
    this.ofrepRequests = new Counter({
      name: 'opsctl_ofrep_requests_total',
      help: 'Requests to the OFREP listener by endpoint (evaluate, bulk, other) and status (304: a bulk poll that found nothing new)',
      labelNames: ['endpoint', 'status'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'opsctl_internal_jobs',
      help: 'Jobs known to the internal port by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const [state, n] of Object.entries(jobStates())) this.set({ state }, n);
      },
    });
    this.unverified = new Counter({ name: 'opsctl_internal_verify_refused_total', help: 'Requests refused before their signature was verified because their keyid or connection had too many failed verifies (429 limit.auth), by limit', labelNames: ['limit'], registers: [this.registry] });
    if (replayCache) {
      new Gauge({ name: 'opsctl_internal_replay_cache_entries', help: 'Nonces remembered by the replay cache (live within the signature window)', registers: [this.registry], collect() { this.set(replayCache().entries); } });
      new Gauge({ name: 'opsctl_internal_replay_cache_capacity', help: 'Most nonces the replay cache holds before refusing with 503 server.busy (scales with the signature window)', registers: [this.registry], collect() { this.set(replayCache().capacity); } });
    }
  }

  /** A request refused before its verify by an admission limit ('keyid' or 'peer'). */
  refusedUnverified(limit: 'keyid' | 'peer'): void {
    this.unverified.inc({ limit });
  }

  observe(endpoint: string, status: number, seconds: number, deniedCode?: string): void {
    this.requests.inc({ endpoint, status: String(status) });
    this.duration.observe({ endpoint }, seconds);
    if (deniedCode) this.denied.inc({ code: deniedCode });
  }

  ofrep(endpoint: 'evaluate' | 'bulk' | 'other', status: number): void {
    this.ofrepRequests.inc({ endpoint, status: String(status) });
  }
}
