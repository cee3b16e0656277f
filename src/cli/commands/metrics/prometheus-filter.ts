/**
 * Filtering metrics by name, in both forms the port serves: Prometheus text
 * (families with # HELP / # TYPE lines and their samples) and prom-client's
 * JSON. A histogram's `_bucket`/`_sum`/`_count` samples belong to their family,
 * so `--filter duration` keeps the whole histogram.
 */

export interface JsonMetric {
  name: string;
  help?: string;
  type?: string;
  values?: Array<{ value: number; labels?: Record<string, string | number>; metricName?: string }>;
  [k: string]: unknown;
}

const SAMPLE_NAME = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/;

export function filterPrometheusText(text: string, re: RegExp): string {
  const kept: string[] = [];
  let family = '';
  for (const line of text.split('\n')) {
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)/.exec(line);
    if (meta) {
      family = meta[2]!;
      if (re.test(family)) kept.push(line);
      continue;
    }
    if (!line.trim() || line.startsWith('#')) continue;
    const name = SAMPLE_NAME.exec(line)?.[1] ?? '';
    const inFamily = family !== '' && name.startsWith(family);
    if (re.test(name) || (inFamily && re.test(family))) kept.push(line);
  }
  return kept.length ? kept.join('\n') + '\n' : '';
}

export function filterJsonMetrics(metrics: JsonMetric[], re: RegExp): JsonMetric[] {
  return metrics.filter((m) => re.test(m.name) || (m.values ?? []).some((v) => v.metricName !== undefined && re.test(v.metricName)));
}
