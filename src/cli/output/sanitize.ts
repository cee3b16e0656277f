/**
 * The one sanitiser for text that came from the service (or any other
 * untrusted source) on its way to a terminal. A flag value, task name,
 * problem detail or job log line could otherwise carry escape sequences that
 * write the operator's clipboard (OSC 52), clear the screen, move the cursor
 * to paint a fake prompt, or reorder text (bidi overrides). Each such
 * character is shown visibly instead — ESC becomes the four characters
 * `\x1b` — so what was sent stays readable and nothing is executed.
 * `-o json` output never passes through here: JSON stays exact.
 *
 * Replaced: C0 controls (U+0000–U+001F) except tab and newline where the
 * layout allows them, DEL (U+007F), C1 controls (U+0080–U+009F, which some
 * terminals treat like ESC sequences), and the bidirectional formatting
 * characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
 */

export interface SanitizeOptions {
  /** Keep newlines (multi-line notes, pretty JSON, metrics text). Default false: shown as \n. */
  newlines?: boolean;
  /** Keep tabs. Default: the same as `newlines`. */
  tabs?: boolean;
  /**
   * Keep plain SGR colour/weight sequences (ESC [ … m), which is how this
   * CLI's own colours look once formatted. Nothing else of ESC survives:
   * no cursor movement, no screen clearing, no OSC, no conceal.
   */
  keepColors?: boolean;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Colours, bold/dim/italic/underline and their resets; not 5/6 (blink), 7 (reverse), 8 (conceal).
// eslint-disable-next-line no-control-regex -- ESC is what this matches
const SGR = /\u001b\[((?:0|1|2|3|4|22|23|24|3[0-9]|9[0-7])(?:;(?:0|1|2|3|4|22|23|24|3[0-9]|9[0-7]))*)?m/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

function escapeUnsafe(s: string, o: SanitizeOptions): string {
  const keepNl = Boolean(o.newlines);
  const keepTab = o.tabs ?? keepNl;
  return s.replace(UNSAFE, (ch) => ((ch === '\n' && keepNl) || (ch === '\t' && keepTab) ? ch : visible(ch)));
}

/** `s` with every terminal control shown visibly (see the file comment). */
export function sanitize(s: string, o: SanitizeOptions = {}): string {
  if (!o.keepColors) return escapeUnsafe(s, o);
  // Split around allowed SGR sequences, escape everything between them.
  let out = '';
  let last = 0;
  for (const m of s.matchAll(SGR)) {
    out += escapeUnsafe(s.slice(last, m.index), o) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeUnsafe(s.slice(last), o);
}

/** Whether `s` holds anything sanitize would change (tests, fast paths). */
export function hasUnsafe(s: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s);
}

/**
 * A copy of a parsed JSON value with every string (keys too) sanitised, for
 * rendering rows whose cells are then formatted (and coloured) by the CLI.
 */
export function sanitizeDeep<T>(v: T, o: SanitizeOptions = {}): T {
  if (typeof v === 'string') return sanitize(v, o) as T;
  if (Array.isArray(v)) return v.map((x) => sanitizeDeep(x, o)) as T;
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[sanitize(k, o)] = sanitizeDeep(x, o);
    return out as T;
  }
  return v;
}
