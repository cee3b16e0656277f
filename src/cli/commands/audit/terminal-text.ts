/** A server- or file-derived string made safe for a terminal: control characters shown as `?`. */
export function terminalText(v: unknown): string {
  // eslint-disable-next-line no-control-regex -- it matches terminal control characters on purpose
  return String(v).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
