/**
 * Canonical JSON: object keys sorted (recursively), no whitespace, undefined
 * members dropped as JSON.stringify does. Used wherever a hash must not depend
 * on key order (audit chain, plan hashes, idempotency fingerprints). Lives in
 * the protocol because the CLI recomputes audit record hashes offline.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
