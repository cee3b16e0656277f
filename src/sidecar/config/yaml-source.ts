import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/** A path into the config: keys and sequence indexes. */
export type ConfigPath = ReadonlyArray<string | number>;

/** One thing wrong (or worth a warning) in a config, where it is. */
export interface ConfigProblem {
  path: ConfigPath;
  message: string;
  severity: 'error' | 'warning';
  /** 1-based line and column in the file, when the path could be placed. */
  line?: number;
  col?: number;
}

/** A parsed YAML file that can say where a path is. */
export interface YamlSource {
  value: unknown;
  /** Syntax errors (duplicate keys, bad indentation…), already placed. */
  syntax: ConfigProblem[];
  /** Places a problem at its path (the key for an unknown key, else the value, else the nearest parent). */
  place(problem: Omit<ConfigProblem, 'line' | 'col'>, opts?: { key?: boolean }): ConfigProblem;
}

export function parseYamlSource(text: string): YamlSource {
  const lc = new LineCounter();
  // YAML 1.1 merge keys (<<: *anchor) let a config share adaptor settings.
  const doc: Document = parseDocument(text, { lineCounter: lc, merge: true, uniqueKeys: true, prettyErrors: true });
  const syntax: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = e.linePos?.[0];
    return { path: [], message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), severity: doc.errors.includes(e) ? 'error' : 'warning', ...(pos ? { line: pos.line, col: pos.col } : {}) };
  });
  const value = doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 1000 });
  const at = (offset: number | undefined) => (offset === undefined ? {} : lc.linePos(offset));
  const place: YamlSource['place'] = (problem, opts = {}) => {
    const p = problem.path;
    // The deepest node the path reaches.
    for (let n = p.length; n >= 0; n--) {
      const parent = n > 0 ? doc.getIn(p.slice(0, n - 1), true) : undefined;
      if (n === p.length && opts.key && isMap(parent)) {
        const pair = parent.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(p[n - 1]));
        if (pair && isNode(pair.key) && pair.key.range) return { ...problem, ...at(pair.key.range[0]) };
      }
      const node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n), true);
      if (node && isNode(node) && (node as Node).range) {
        // A key given with no value (`http:`) has a null scalar without a place: use its key.
        const range = (node as Node).range!;
        if (n > 0 && isScalar(node) && node.value === null && range[0] === range[1]) {
          const holder = doc.getIn(p.slice(0, n - 1), true);
          if (isMap(holder)) {
            const pair = holder.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(p[n - 1]));
            if (pair && isNode(pair.key) && pair.key.range) return { ...problem, ...at(pair.key.range[0]) };
          }
        }
        if (isSeq(node) || isMap(node) || isScalar(node)) return { ...problem, ...at(range[0]) };
      }
    }
    return { ...problem };
  };
  return { value, syntax, place };
}

/** `endpoints[0].http.path`; `(top level)` for the root. */
export function formatPath(path: ConfigPath): string {
  if (!path.length) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
