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
