import type { JsonSchema } from '../../protocol/index.js';
import type { Problems } from '../config/problems.js';
import type { ConfigPath } from '../config/yaml-source.js';
import type { Template } from './template.js';

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/** What the adaptors need to know about an endpoint's params while its templates are checked. */
export class ParamsInfo {
  readonly names: Set<string>;
  readonly secret = new Set<string>();
  private readonly scalar = new Set<string>();
  readonly used = new Set<string>();

  constructor(readonly schema: JsonSchema) {
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    this.names = new Set(Object.keys(props));
    for (const [name, p] of Object.entries(props)) {
      if (p?.secret === true) this.secret.add(name);
      const types = Array.isArray(p?.type) ? (p.type as string[]) : p?.type !== undefined ? [String(p.type)] : [];
      const enumScalar = Array.isArray(p?.enum) && (p.enum as unknown[]).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
      if ((types.length && types.every((t) => SCALARS.has(t))) || (!types.length && enumScalar)) this.scalar.add(name);
    }
  }

  /**
   * Checks a template's placeholders: each names a declared param, of a
   * single-value type, and (unless `secretsAllowed`) not a secret one.
   * `where` is said in the messages ("argv", "the path").
   */
  checkTemplate(t: Template, path: ConfigPath, problems: Problems, where: string, opts: { secretsAllowed?: boolean } = {}): void {
    for (const name of t.params) {
      this.used.add(name);
      if (!this.names.has(name)) {
        problems.error(path, `{${name}} in ${where} is not a declared param (declare it under params.properties)`);
      } else if (!this.scalar.has(name)) {
        problems.error(path, `{${name}} in ${where} must be a param of type string, integer, number or boolean (or an enum of those): a template takes one value`);
      } else if (this.secret.has(name) && !opts.secretsAllowed) {
        problems.error(path, `{${name}} is a secret param and cannot go into ${where}: pass it through env.set or stdin`);
      }
    }
  }
}
