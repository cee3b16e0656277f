/**
 * Prometheus text exposition (format 0.0.4) read line by line, for metrics
 * that come as text from elsewhere (InternalPortOptions.metricsText): what
 * is valid is grouped into families and can be served again as text or as
 * prom-client's JSON shape; what is not is dropped, so a broken or hostile
 * source can never make /v1/metrics unparsable.
 */

export interface ExpositionSample {
  /** The sample's own name (`x_bucket`, `x_sum` for a histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The line as it was, for the text form. */
  line: string;
}

export interface ExpositionFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: ExpositionSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'], counter: ['_total'] };

/** `{a="x",b="y\"z"}` → labels, or null when malformed. */
function parseLabels(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  let i = 0;
  const body = text.trim();
  while (i < body.length) {
    const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(body.slice(i));
    if (!m) return null;
    i += m[0].length;
    let value = '';
    for (;;) {
      if (i >= body.length) return null;
      const c = body[i]!;
      if (c === '\\') {
        const n = body[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else return null;
        i += 2;
        continue;
      }
      if (c === '"') { i++; break; }
      value += c;
      i++;
    }
    labels[m[1]!] = value;
    const rest = /^\s*(,|$)/.exec(body.slice(i));
    if (!rest) return null;
    i += rest[0].length;
  }
  return labels;
}

function parseValue(text: string): number | null {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return null;
  return Number(text);
}

/** A sample line → its parts, or null. */
function parseSample(line: string): ExpositionSample | null {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$/.exec(line);
  if (!m) return null;
  const labels = m[3] !== undefined ? parseLabels(m[3]) : {};
  const value = parseValue(m[4]!);
  if (!labels || value === null) return null;
  return { name: m[1]!, labels, value, line };
}

/** The family a sample belongs to, given the family declared just before it. */
function belongs(sample: string, family: ExpositionFamily | undefined): boolean {
  if (!family) return false;
  if (sample === family.name) return true;
  return (SUFFIXES[family.type] ?? []).some((s) => sample === family.name + s);
}

/**
 * Parses exposition text into families (in order). Lines that are not valid
 * exposition are dropped and counted; a family declared twice keeps the
 * first declaration's samples only.
 */
export function parseExposition(text: string): { families: ExpositionFamily[]; dropped: number } {
  const families: ExpositionFamily[] = [];
  const byName = new Map<string, ExpositionFamily>();
  const seen = new Set<string>();
  let current: ExpositionFamily | undefined;
  let dropped = 0;
  const family = (name: string): ExpositionFamily => {
    let f = byName.get(name);
    if (!f) {
      f = { name, help: '', type: 'untyped', samples: [] };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) { dropped++; continue; }
      if (seen.has(name!) && byName.get(name!)?.samples.length) { current = undefined; dropped++; continue; }
      const f = family(name!);
      if (kind === 'HELP') f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else if (TYPES.has(rest.trim())) f.type = rest.trim() as ExpositionFamily['type'];
      else { dropped++; continue; }
      current = f;
      continue;
    }
    const sample = parseSample(line);
    if (!sample) { dropped++; continue; }
    const f = belongs(sample.name, current) ? current! : family(sample.name);
    if (f !== current) current = f;
    seen.add(f.name);
    f.samples.push(sample);
  }
  return { families: families.filter((f) => f.samples.length > 0), dropped };
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** The families as exposition text again (HELP, TYPE, the sample lines as received). */
export function renderExposition(families: ExpositionFamily[]): string {
  return families.map((f) => `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n${f.samples.map((s) => s.line).join('\n')}\n`).join('\n');
}

/** The families in prom-client's getMetricsAsJSON() shape. */
export function expositionAsJson(families: ExpositionFamily[]): Array<Record<string, unknown>> {
  return families.map((f) => ({
    name: f.name,
    help: f.help,
    type: f.type,
    values: f.samples.map((s) => ({ value: s.value, labels: s.labels, ...(s.name !== f.name ? { metricName: s.name } : {}) })),
  }));
}
