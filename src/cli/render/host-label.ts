/** A host name as the operator typed it, safe to print on a terminal (no control characters). */
export function sanitizeHost(host: string): string {
  // eslint-disable-next-line no-control-regex
  return host.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}
