/**
 * Server-derived text made safe for a terminal: control characters (escape
 * sequences could rewrite what an approver sees) and bidirectional overrides
 * (which reorder text on screen) become visible \u escapes. What an approver
 * reads must be what will run.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function safeText(value: unknown): string {
  const s = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  return (s ?? '').replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line: newlines and tabs shown as escapes too. */
export function safeLine(value: unknown): string {
  return safeText(value).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}
