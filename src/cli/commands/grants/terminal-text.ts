/**
 * Server-derived text made safe for a terminal: control characters (C0,
 * DEL, C1, which include ESC and CSI) become U+FFFD, so a principal name or
 * reason chosen by someone else can never move the cursor or recolour the
 * screen.
 */
export function terminalText(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, '\uFFFD');
}
