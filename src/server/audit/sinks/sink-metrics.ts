import { Counter, type Registry } from 'prom-client';
import type { AuditLog } from '../audit-log.js';

/** `opsctl_audit_sink_dropped_total{sink}`: audit records a sink could not take. */
export function registerAuditSinkMetrics(registry: Registry, audit: AuditLog): void {
  new Counter({
    name: 'opsctl_audit_sink_dropped_total',
    help: 'Audit records that could not be shipped, by sink',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of audit.sinkStatus) this.inc({ sink: s.name }, s.dropped);
    },
  });
}
