/**
 * Templates with {param} placeholders, as the adaptors use them (argv
 * elements, upstream paths, socket commands, env values, stdin). A template
 * is parsed once, when the config is loaded; filling it never re-parses the
 * filled text, so a value can never introduce a placeholder, and each
 * adaptor decides how a value is encoded (one argv element, one percent-
 * encoded path segment, one checked token of a command line).
 * `{{` and `}}` stand for literal braces.
 */

export type TemplatePart = { text: string } | { param: string };

export interface Template {
  source: string;
  parts: TemplatePart[];
  /** The params it names, in order of first use. */
  params: string[];
}

const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a template; throws an Error whose message says what is wrong. */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '{' && source[i + 1] === '{') { text += '{'; i++; continue; }
    if (c === '}' && source[i + 1] === '}') { text += '}'; i++; continue; }
    if (c === '}') throw new Error(`a lone "}" at position ${i + 1} (write }} for a literal brace)`);
    if (c !== '{') { text += c; continue; }
    const end = source.indexOf('}', i);
    if (end < 0) throw new Error(`"{" at position ${i + 1} is never closed (write {{ for a literal brace)`);
    const name = source.slice(i + 1, end);
    if (!PARAM.test(name)) throw new Error(`{${name}} is not a param placeholder (a name of letters, digits and _)`);
    if (text) parts.push({ text });
    text = '';
    parts.push({ param: name });
    i = end;
  }
  if (text) parts.push({ text });
  const params: string[] = [];
  for (const p of parts) if ('param' in p && !params.includes(p.param)) params.push(p.param);
  return { source, parts, params };
}

/**
 * Fills a template: each placeholder's value goes through `encode` (which
 * may throw a ProblemError to refuse it). Returns undefined when a named
 * param was not given (the caller leaves the element, query value or
 * variable out).
 */
export function fillTemplate(t: Template, params: Record<string, unknown>, encode: (value: unknown, name: string) => string): string | undefined {
  let out = '';
  for (const part of t.parts) {
    if ('text' in part) { out += part.text; continue; }
    const v = params[part.param];
    if (v === undefined || v === null) return undefined;
    out += encode(v, part.param);
  }
  return out;
}

/** A scalar param value as text (numbers as JSON writes them, booleans as true/false). */
export function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
