/**
 * One renderer for every command run over several hosts: the per-host
 * records of RecordingOutput merged into one JSON document
 * ({"hosts":[…],"summary":{…}}) or one set of tables with a HOST column.
 */
import { cellText, type Column, type Output } from '../output/output.js';
import type { Recorded } from './recording-output.js';
import { sanitizeHost } from './host-label.js';

export interface HostOutcome {
  host: string;
  /** 'ok' ran and succeeded; 'failed' ran (or could not connect) and failed; 'skipped' never ran. */
  status: 'ok' | 'failed' | 'skipped';
  exitCode: number | null;
  items: Recorded[];
  error?: { message: string; code?: string };
}

export interface FleetSummary {
  ok: number;
  failed: number;
  skipped: number;
}

export function summarize(outcomes: HostOutcome[]): FleetSummary {
  return {
    ok: outcomes.filter((o) => o.status === 'ok').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    skipped: outcomes.filter((o) => o.status === 'skipped').length,
  };
}

/** The -o json document of a fleet run. */
export function fleetDocument(outcomes: HostOutcome[]): unknown {
  return {
    hosts: outcomes.map((o) => {
      const json = o.items.find((i) => i.kind === 'json');
      const base = { host: o.host, ok: o.status === 'ok', exitCode: o.exitCode };
      if (o.status === 'skipped') return { ...base, skipped: true, error: o.error ?? { message: 'skipped' } };
      if (o.status === 'failed') return { ...base, error: o.error ?? { message: 'failed' }, ...(json ? { result: json.value } : {}) };
      return { ...base, result: json ? json.value : null };
    }),
    summary: summarize(outcomes),
  };
}

// The host is what an operator types next (--host): never cut, like the item's own name.
/**
 * The closing line of a streamed fleet run under -o json (--follow, --watch):
 * the same hosts and summary as fleetDocument, as one NDJSON line typed
 * "summary", after the hosts' event lines.
 */
export function fleetSummaryLine(outcomes: HostOutcome[]): unknown {
  return { type: 'summary', ...(fleetDocument(outcomes) as object) };
}

const HOST: Column = { key: '__host', header: 'host', fit: 'id' };

/**
 * Rows whose `name` is the same on several hosts but whose `value` differs
 * (a flag with per-instance stores set on some hosts only): those names.
 */
export function divergentNames(tables: Array<{ host: string; rows: Record<string, unknown>[] }>): string[] {
  const seen = new Map<string, Set<string>>();
  for (const t of tables) {
    for (const r of t.rows) {
      if (typeof r.name !== 'string' || !('value' in r)) continue;
      const set = seen.get(r.name) ?? new Set<string>();
      set.add(JSON.stringify(r.value));
      seen.set(r.name, set);
    }
  }
  return [...seen].filter(([, v]) => v.size > 1).map(([k]) => k);
}

/** Tables and text of every host that ran, merged position by position. */
export function renderFleetHuman(out: Output, outcomes: HostOutcome[]): void {
  const ran = outcomes.filter((o) => o.status !== 'skipped' && o.items.length);
  const positions = Math.max(0, ...ran.map((o) => o.items.length));
  let first = true;
  for (let i = 0; i < positions; i++) {
    const at = ran.map((o) => ({ host: o.host, item: o.items[i] })).filter((x): x is { host: string; item: Recorded } => x.item !== undefined);
    if (!first) out.line();
    first = false;
    const tables = at.filter((x) => x.item.kind === 'table') as Array<{ host: string; item: Extract<Recorded, { kind: 'table' }> }>;
    if (tables.length) {
      const columns = tables[0]!.item.columns;
      const divergent = new Set(divergentNames(tables.map((t) => ({ host: t.host, rows: t.item.rows }))));
      const rows = tables.flatMap((t) => t.item.rows.map((r) => ({ ...r, __host: sanitizeHost(t.host) })));
      const cols: Column[] = [HOST, ...columns];
      if (divergent.size) {
        cols.push({ key: '__diverges', header: 'diverges', format: (_v, r) => (divergent.has(String(r.name)) ? out.colors.yellow('≠ differs across hosts') : '') });
      }
      out.table(rows, cols, { empty: tables[0]!.item.empty ?? 'nothing on any host' });
      if (divergent.size) out.warn(`${[...divergent].join(', ')}: not the same on every host (each instance keeps its own value)`);
    }
    const fields = at.filter((x) => x.item.kind === 'fields') as Array<{ host: string; item: Extract<Recorded, { kind: 'fields' }> }>;
    if (fields.length) {
      // One row per host, one column per key: a key/value block turned sideways.
      const keys = [...new Set(fields.flatMap((x) => x.item.pairs.map(([k]) => k)))];
      const rows = fields.map((x) => ({ __host: sanitizeHost(x.host), ...Object.fromEntries(x.item.pairs.map(([k, v]) => [`f:${k}`, cellText(v)])) }));
      out.table(rows, [HOST, ...keys.map((k) => ({ key: `f:${k}`, header: k }))]);
    }
    for (const x of at.filter((y) => y.item.kind === 'line')) out.line(`${sanitizeHost(x.host)}: ${(x.item as { text: string }).text}`);
    for (const x of at.filter((y) => y.item.kind === 'json')) out.line(`${sanitizeHost(x.host)}: ${JSON.stringify((x.item as { value: unknown }).value)}`);
  }
}

/** Failed and skipped hosts, and the tally, on stderr. */
export function renderFleetProblems(out: Output, outcomes: HostOutcome[]): void {
  for (const o of outcomes) {
    if (o.status === 'failed') out.note(`${out.colors.red('✗')} ${sanitizeHost(o.host)}: ${o.error?.message ?? 'failed'}${o.exitCode !== null ? ` (exit ${o.exitCode})` : ''}`);
    if (o.status === 'skipped') out.note(`${out.colors.dim('-')} ${sanitizeHost(o.host)}: skipped${o.error ? ` (${o.error.message})` : ''}`);
  }
  const s = summarize(outcomes);
  out.note(`${outcomes.length} host(s): ${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped`);
}

/**
 * The exit code of a fleet run (docs: 0 only when every host succeeded,
 * else the most serious of the hosts' codes: connection 5 > auth 3 >
 * conflict 6 > failed 1).
 */
export function fleetExitCode(outcomes: HostOutcome[]): number {
  if (outcomes.every((o) => o.status === 'ok')) return 0;
  const order = [130, 5, 3, 6, 4, 1];
  const codes = outcomes.filter((o) => o.status === 'failed').map((o) => o.exitCode ?? 1);
  if (!codes.length) return 1;
  const rank = (c: number) => (order.includes(c) ? order.indexOf(c) : order.length - 1);
  return codes.sort((a, b) => rank(a) - rank(b))[0]!;
}
