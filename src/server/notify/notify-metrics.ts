import { Counter, Gauge, type Registry } from 'prom-client';
import type { Notifier } from './notifier.js';

/**
 * The notifier's metrics, by endpoint name: `opsctl_notify_failed_total`
 * (failed delivery attempts), `opsctl_notify_delivered_total`,
 * `opsctl_notify_dropped_total` (deliveries given up: past the retry
 * horizon, or a 410) and `opsctl_notify_queued` (deliveries waiting).
 */
export function registerNotifyMetrics(registry: Registry, notifier: Notifier): void {
  const counter = (name: string, help: string, pick: (c: ReturnType<Notifier['counts']>[number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of notifier.counts()) this.inc({ endpoint: c.endpoint }, pick(c));
      },
    });
  counter('opsctl_notify_failed_total', 'Failed event delivery attempts, by endpoint', (c) => c.failed);
  counter('opsctl_notify_delivered_total', 'Events delivered, by endpoint', (c) => c.delivered);
  counter('opsctl_notify_dropped_total', 'Event deliveries given up (retry horizon passed, or 410 Gone), by endpoint', (c) => c.dropped);
  new Gauge({
    name: 'opsctl_notify_queued',
    help: 'Event deliveries waiting in the queue, by endpoint',
    labelNames: ['endpoint'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const [endpoint, n] of Object.entries(await notifier.pendingCounts())) this.set({ endpoint }, n);
      } catch {
        /* a shared store that is down: the gauge is left empty rather than failing the scrape */
      }
    },
  });
}
