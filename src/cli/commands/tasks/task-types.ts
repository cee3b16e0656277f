import type { JsonSchema, Role } from '../../../protocol/catalog.js';

/** One tasks.list entry. */
export interface TaskView {
  name: string;
  summary: string;
  description?: string;
  destructive: boolean;
  role: Role;
  params: JsonSchema;
  [k: string]: unknown;
}

/** `olderThanDays:integer*, dryRun:boolean` — a compact params column (* = required). */
export function paramsSummary(schema: JsonSchema | undefined): string {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  return Object.entries(props)
    .map(([k, s]) => `${k}:${Array.isArray(s.type) ? s.type.join('|') : s.type ?? 'any'}${required.has(k) ? '*' : ''}`)
    .join(', ');
}
