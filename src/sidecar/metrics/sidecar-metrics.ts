import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ProblemError } from '../../protocol/index.js';

/** What an upstream call came to, as the metrics label it. */
export type UpstreamOutcome = 'ok' | 'error' | 'unavailable' | 'timeout' | 'too_large' | 'refused';

export function outcomeOf(e: unknown): UpstreamOutcome {
  if (!(e instanceof ProblemError)) return 'error';
  switch (e.code) {
    case 'upstream.unavailable': return 'unavailable';
    case 'upstream.timeout': return 'timeout';
    case 'upstream.too_large': return 'too_large';
    case 'request.invalid': return 'refused';
    default: return 'error';
  }
}

/**
 * opsctl-port's own metrics, served in GET /v1/metrics next to the port's
 * (docs/sidecar.md, "Metrics"). One instance for the life of the process:
 * a reload keeps the counts.
 */
export class SidecarMetrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({ name: 'opsctl_port_upstream_calls_total', help: 'Calls of an adaptor to its upstream (HTTP API, socket or command), by endpoint and outcome.', labelNames: ['endpoint', 'kind', 'outcome'], registers: [this.registry] });
  private readonly seconds = new Histogram({ name: 'opsctl_port_upstream_call_duration_seconds', help: 'Time an adaptor waited for its upstream (commands: until they exited).', labelNames: ['endpoint', 'kind'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry] });
  private readonly reloads = new Counter({ name: 'opsctl_port_config_reloads_total', help: 'Configuration reloads by result (applied, refused, unchanged).', labelNames: ['result'], registers: [this.registry] });
  private readonly loadedAt = new Gauge({ name: 'opsctl_port_config_loaded_timestamp_seconds', help: 'When the configuration in force was loaded.', registers: [this.registry] });
  private readonly scrapes = new Counter({ name: 'opsctl_port_upstream_metrics_scrapes_total', help: 'Scrapes of the upstream\'s own metrics, by outcome.', labelNames: ['outcome'], registers: [this.registry] });

  constructor() {
    for (const result of ['applied', 'refused', 'unchanged']) this.reloads.inc({ result }, 0);
  }

  /** Times one upstream call; records its outcome whether it resolves or throws. */
  async time<T>(endpoint: string, kind: string, call: () => Promise<T>): Promise<T> {
    const end = this.seconds.startTimer({ endpoint, kind });
    try {
      const r = await call();
      this.calls.inc({ endpoint, kind, outcome: 'ok' });
      return r;
    } catch (e) {
      this.calls.inc({ endpoint, kind, outcome: outcomeOf(e) });
      throw e;
    } finally {
      end();
    }
  }

  reload(result: 'applied' | 'refused' | 'unchanged'): void {
    this.reloads.inc({ result });
    if (result === 'applied') this.loadedAt.setToCurrentTime();
  }

  scrape(outcome: UpstreamOutcome): void {
    this.scrapes.inc({ outcome });
  }
}
