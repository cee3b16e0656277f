/**
 * Reads just the context names and `current-context` out of the config file
 * without the YAML parser, which would add its load time to every TAB. It
 * understands the block style opsctl itself writes; anything fancier (flow
 * mappings, anchors, tags, tabs) makes it give up, and the caller falls back
 * to the real parser.
 */

export interface ConfigSummary {
  current: string | undefined;
  contexts: string[];
}

function unquote(raw: string): string | undefined {
  const s = raw.trim();
  if (s.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(s);
    if (!m) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return undefined;
    }
  }
  if (s.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'\s*(#.*)?$/.exec(s);
    return m ? m[1]!.replace(/''/g, "'") : undefined;
  }
  return s.replace(/\s+#.*$/, '');
}

// `key: value` with a plain or quoted key; undefined when the line is not one.
function splitKey(line: string): { key: string; value: string } | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#:{}[\],&*!|>%@`-][^:#]*?)\s*:(?:\s+(.*))?$/.exec(line);
  if (!m) return undefined;
  const key = unquote(m[1]!);
  if (key === undefined) return undefined;
  return { key, value: (m[2] ?? '').trim() };
}

/** Summarises the config text; undefined when it needs the full YAML parser. */
export function scanConfig(text: string): ConfigSummary | undefined {
  if (/[\t&*!]|^\s*\?/m.test(text.replace(/'[^'\n]*'|"[^"\n]*"|#.*$/gm, ''))) return undefined;
  const out: ConfigSummary = { current: undefined, contexts: [] };
  let inContexts = false;
  let childIndent = -1;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*(#.*)?$/.test(raw) || raw === '---' || raw === '...') continue;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (indent === 0) {
      inContexts = false;
      const kv = splitKey(line);
      if (!kv) return undefined;
      if (kv.key === 'current-context') {
        const v = kv.value === '' || kv.value === '~' || kv.value === 'null' ? undefined : unquote(kv.value);
        out.current = v;
      } else if (kv.key === 'contexts') {
        if (kv.value === '{}' || kv.value === '' || kv.value === '~' || kv.value === 'null') inContexts = kv.value === '';
        else return undefined;
        childIndent = -1;
      }
      continue;
    }
    if (!inContexts) continue;
    if (childIndent < 0) childIndent = indent;
    if (indent < childIndent) return undefined;
    if (indent > childIndent) continue;
    const kv = splitKey(line);
    if (!kv) return undefined;
    out.contexts.push(kv.key);
  }
  return out;
}

// `[a, 'b', "c"]` → its items; undefined for anything nested or unbalanced.
function flowList(value: string): string[] | undefined {
  const m = /^\[(.*)\]\s*(#.*)?$/.exec(value);
  if (!m) return undefined;
  if (/[[\]{}]/.test(m[1]!)) return undefined;
  const items: string[] = [];
  for (const raw of m[1]!.split(',')) {
    if (raw.trim() === '') continue;
    const v = unquote(raw);
    if (v === undefined) return undefined;
    items.push(v);
  }
  return items;
}

/**
 * The `host` list of one context (what `--host` completes), read the same
 * quick way as scanConfig: `host: a`, `host: [a, b]` or a block list. `[]`
 * when the context names no host; undefined when the context is missing or
 * written in a style this scanner leaves to the YAML parser.
 */
export function scanContextHosts(text: string, context: string): string[] | undefined {
  if (!scanConfig(text)?.contexts.includes(context)) return undefined;
  const lines = text.split(/\r?\n/).filter((l) => !/^\s*(#.*)?$/.test(l) && l !== '---' && l !== '...');
  const indentOf = (l: string) => l.length - l.trimStart().length;
  let i = lines.findIndex((l) => indentOf(l) === 0 && splitKey(l.trim())?.key === 'contexts');
  if (i < 0) return undefined;
  const childIndent = lines[i + 1] ? indentOf(lines[i + 1]!) : -1;
  for (i++; i < lines.length && indentOf(lines[i]!) > 0; i++) {
    const kv = indentOf(lines[i]!) === childIndent ? splitKey(lines[i]!.trim()) : undefined;
    if (kv?.key !== context) continue;
    // An inline value ({host: a}) is for the YAML parser.
    if (kv.value !== '') return kv.value === '{}' ? [] : undefined;
    // `host` wins over its alias `hosts`, as in the config reader.
    const byKey: { host?: string[]; hosts?: string[] } = {};
    const fieldIndent = lines[i + 1] ? indentOf(lines[i + 1]!) : 0;
    for (let j = i + 1; j < lines.length && indentOf(lines[j]!) > childIndent; j++) {
      const field = indentOf(lines[j]!) === fieldIndent ? splitKey(lines[j]!.trim()) : undefined;
      if (!field || (field.key !== 'host' && field.key !== 'hosts')) continue;
      let found: string[];
      if (field.value.startsWith('[')) {
        const items = flowList(field.value);
        if (!items) return undefined;
        found = items;
      } else if (field.value !== '') {
        const v = unquote(field.value);
        if (v === undefined) return undefined;
        found = v.split(',').map((s) => s.trim()).filter(Boolean);
      } else {
        // A block list: `- a` lines, at the key's indent or deeper.
        found = [];
        for (j++; j < lines.length && indentOf(lines[j]!) >= fieldIndent && lines[j]!.trim().startsWith('- '); j++) {
          const v = unquote(lines[j]!.trim().slice(2));
          if (v === undefined) return undefined;
          found.push(v);
        }
        j--;
      }
      byKey[field.key] = found;
    }
    return byKey.host ?? byKey.hosts ?? [];
  }
  return undefined;
}
