import { requestUpstream, type HttpUpstream } from '../adaptors/upstream-http.js';
import type { PortLog } from '../../server/logger.js';
import { outcomeOf, type SidecarMetrics } from './sidecar-metrics.js';

export interface PreparedScrape {
  upstream: HttpUpstream;
  path: string;
  host: string;
  timeoutMs: number;
  maxBytes: number;
}

/**
 * The upstream's own Prometheus text, fetched on every GET /v1/metrics
 * (the port parses it, drops what is not valid exposition or collides with
 * its own names, and serves the rest after its own). A failed scrape is
 * counted, logged at most once a minute, and leaves the upstream's metrics
 * out of that answer.
 */
export function scrapeUpstream(s: PreparedScrape, metrics: SidecarMetrics, log: PortLog): () => Promise<string> {
  let lastWarn = 0;
  return async () => {
    try {
      const a = await requestUpstream(s.upstream, { method: 'GET', path: s.path, headers: { host: s.host, accept: 'text/plain;version=0.0.4' }, timeoutMs: s.timeoutMs, maxBytes: s.maxBytes, what: 'metrics.upstream' });
      if (a.status !== 200) throw new Error(`the upstream answered ${a.status}`);
      metrics.scrape('ok');
      return a.body.toString('utf8');
    } catch (e) {
      metrics.scrape(outcomeOf(e));
      if (Date.now() - lastWarn > 60_000) {
        lastWarn = Date.now();
        log('warn', `the upstream's metrics (${s.upstream.label}${s.path}) are left out: ${(e as Error).message}`);
      }
      return '';
    }
  };
}
