/**
 * From a cached catalog to service commands, without commander: endpoint
 * `lb.disable` with param `server` becomes `opsctl lb disable --server web1`
 * (README, "Service commands"). Pure, so the command tree, completion and
 * the start-up fast path all derive the same commands from the same rules:
 *
 * - the id's words are the command path; an id whose first word is a
 *   built-in command (flags, tasks, call, …) is not a command — `opsctl call
 *   ID` reaches it, and the collision is named in a warning;
 * - each param is an option named as the param: integers and numbers take
 *   `<n>`, objects and arrays JSON, an enum offers its values as choices, a
 *   boolean is a flag with its `--no-` twin, a required param is a mandatory
 *   option, a secret param takes `@FILE` or `-` (or is asked for without
 *   echo) — never its value on argv;
 * - a param whose name is one of opsctl's own options (`--host`, `--port`,
 *   `--output`…) cannot be an option (opsctl's option would take the value):
 *   it is given as `--param NAME=VALUE`, which only such commands have.
 *
 * Everything shown comes from the service and is sanitised here, before it
 * reaches help text or a completion line.
 */
import type { EndpointDescriptor, JsonSchema } from '../../protocol/catalog.js';
import { READ_ONLY_POSTS } from '../../protocol/approvals.js';
import { sanitize } from '../output/sanitize.js';
import { approvalText } from '../approvals/approval-text.js';
import type { CachedCatalog, CachedEndpoint } from './catalog-cache.js';

/** The words of an id and the names of params that can be options. */
const WORD = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_DEPTH = 4;

/** How an option's value is read. */
export type OptionValueKind = 'flag' | 'value' | 'number' | 'json' | 'secret';

export interface ServiceOptionSpec {
  /** The param this option sets. */
  param: string;
  /** `--server <server>`, `--drain`. */
  flags: string;
  /** The `--no-drain` twin of a boolean flag. */
  negate?: string;
  description: string;
  kind: OptionValueKind;
  /** Values an enum allows (as typed on the command line). */
  choices?: string[];
  /** Shown as the option's default (the server applies it; never sent by the CLI). */
  defaultValue?: string | number;
  /** Required and not secret: commander refuses the command line without it. */
  mandatory: boolean;
  schema: JsonSchema;
}

export interface ServiceCommandSpec {
  /** The command path: ['lb', 'disable']. */
  words: string[];
  /** The endpoint's id and whether it runs as a job (at hand; `endpoint` is parsed when read). */
  id: string;
  job: boolean;
  endpoint: EndpointDescriptor;
  /** Sanitised one-line summary (the command's description). */
  summary: string;
  /** Sanitised text after the options in --help. */
  helpAfter: string;
  options: ServiceOptionSpec[];
  /** Params set only with `--param NAME=VALUE` (their names are opsctl options, or not option-shaped). */
  viaParam: string[];
  /** The schema allows params it does not list (given with --param). */
  extraParams: boolean;
  /** The schema lists params (each is an option or a --param). */
  hasParams: boolean;
}

export interface ServiceCommandSet {
  context: string;
  service: string;
  version: string;
  updatedAt: string;
  commands: ServiceCommandSpec[];
  /** Ids that are no command because their first word is a built-in command. */
  shadowed: Array<{ id: string; word: string }>;
  /** Ids that are no command for another reason (too deep, not word-shaped). */
  skipped: Array<{ id: string; why: string }>;
}

/** Options a service command always has itself. */
const OWN_OPTIONS = ['help', 'param', 'follow', 'version'];

const oneLine = (s: unknown, max = 300) => sanitize(String(s ?? '')).replace(/\s+/g, ' ').trim().slice(0, max);
const text = (s: unknown, max = 2000) => sanitize(String(s ?? ''), { newlines: true }).trim().slice(0, max);

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** A choice must survive argv, help and a completion line unchanged. */
const SAFE_CHOICE = /^[^\s"'\\`$]{1,100}$/;

function choicesOf(schema: JsonSchema): string[] | undefined {
  if (!Array.isArray(schema.enum) || !schema.enum.length || schema.enum.length > 100) return undefined;
  const values = schema.enum.map((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined));
  if (values.some((v) => v === undefined || !SAFE_CHOICE.test(v) || sanitize(v) !== v)) return undefined;
  return values as string[];
}

function range(schema: JsonSchema): string {
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

function optionSpec(name: string, schema: JsonSchema, required: boolean): ServiceOptionSpec {
  const types = typesOf(schema);
  const base = oneLine(schema.description, 200);
  const notes: string[] = [];
  let spec: Omit<ServiceOptionSpec, 'description'>;
  const secret = schema.secret === true;
  const choices = secret ? undefined : choicesOf(schema);
  if (secret) {
    spec = { param: name, flags: `--${name} <@file|->`, kind: 'secret', mandatory: false, schema };
    notes.push('secret: @FILE reads a file, - standard input; left out, it is asked for without echo');
  } else if (types.length === 1 && types[0] === 'boolean') {
    spec = { param: name, flags: `--${name}`, negate: `--no-${name}`, kind: 'flag', mandatory: required, schema };
  } else if (choices) {
    spec = { param: name, flags: `--${name} <${name}>`, kind: 'value', choices, mandatory: required, schema };
  } else if (types.length && types.every((t) => t === 'integer' || t === 'number')) {
    spec = { param: name, flags: `--${name} <n>`, kind: 'number', mandatory: required, schema };
    notes.push(`${types.includes('number') ? 'number' : 'integer'}${range(schema)}`);
  } else if (types.length && types.every((t) => t === 'object' || t === 'array')) {
    spec = { param: name, flags: `--${name} <json>`, kind: 'json', mandatory: required, schema };
    notes.push(`JSON ${types.join(' or ')}`);
  } else {
    spec = { param: name, flags: `--${name} <${name}>`, kind: 'value', mandatory: required, schema };
  }
  if (required) notes.push('required');
  const d = schema.default;
  if (!secret && spec.kind !== 'flag' && (typeof d === 'string' || typeof d === 'number') && oneLine(d, 100) === String(d)) spec.defaultValue = d;
  else if (!secret && spec.kind === 'flag' && typeof d === 'boolean') notes.push(`default: ${d}`);
  const description = [base, notes.length ? `(${notes.join(', ')})` : ''].filter(Boolean).join(' ');
  return { ...spec, description };
}

/** Long option names that are opsctl's own and so cannot name a param's option. */
export function reservedOptionNames(globalLongFlags: readonly string[]): Set<string> {
  const names = new Set(OWN_OPTIONS);
  for (const long of globalLongFlags) {
    const n = long.replace(/^--/, '');
    names.add(n);
    // --no-color also reserves --color, and the other way round.
    names.add(n.startsWith('no-') ? n.slice(3) : `no-${n}`);
  }
  return names;
}

const isMutation = (ep: EndpointDescriptor) => ep.method !== 'GET' && !READ_ONLY_POSTS.includes(ep.id);

function helpAfter(ep: EndpointDescriptor, set: Pick<ServiceCommandSet, 'context' | 'service' | 'version' | 'updatedAt'>, spec: Pick<ServiceCommandSpec, 'viaParam' | 'extraParams'>): string {
  const lines = [''];
  const what = `${oneLine(ep.id, 200)} (${oneLine(ep.method, 10)} ${oneLine(ep.path, 200)})`;
  lines.push(`Endpoint: ${what} of ${oneLine(set.service, 100) || 'the service'}, role ${oneLine(ep.role, 20)}${ep.destructive ? ', destructive: asks first (--yes to skip)' : ''}${ep.job ? ', runs as a job (--follow streams it)' : ''}.`);
  const description = text(ep.description);
  if (description) lines.push(description);
  if (isMutation(ep)) {
    const policy = ep.approval && typeof ep.approval.count === 'number' ? `This endpoint needs ${approvalText(ep.approval)}. ` : '';
    lines.push(`Approval: ${policy}Where the service requires approval the request is held and the approval id printed; --no-wait returns at once. --dry-run: the server checks everything and applies nothing.`);
  }
  if (spec.viaParam.length) lines.push(`Params named like opsctl's own options are given with --param: ${spec.viaParam.map((p) => `--param ${oneLine(p, 64)}=…`).join(' ')}.`);
  else if (spec.extraParams) lines.push('Params the schema does not list are given with --param NAME=VALUE.');
  lines.push(`Service command from the catalog cached for context "${oneLine(set.context, 100)}"${set.updatedAt ? ` at ${oneLine(set.updatedAt, 40)}` : ''}; the same as opsctl call ${oneLine(ep.id, 200)}.`);
  return lines.join('\n');
}

/**
 * The service commands of a cached catalog. `builtins` are the root command
 * names (and aliases) of the CLI; `reserved` the long option names a param
 * cannot take (reservedOptionNames of the global options).
 */
export function serviceCommandSpecs(cached: CachedCatalog, context: string, builtins: ReadonlySet<string>, reserved: ReadonlySet<string>): ServiceCommandSet {
  const set: ServiceCommandSet = {
    context,
    service: oneLine(cached.service, 100),
    version: oneLine(cached.version, 100),
    updatedAt: oneLine(cached.updatedAt, 40),
    commands: [],
    shadowed: [],
    skipped: [],
  };
  const seen = new Set<string>();
  for (const ep of cached.endpoints) {
    const words = ep.id.split('.');
    if (!words.every((w) => WORD.test(w)) || seen.has(ep.id)) {
      set.skipped.push({ id: oneLine(ep.id, 200), why: 'its id is not a dotted name of words' });
      continue;
    }
    seen.add(ep.id);
    if (builtins.has(words[0]!)) {
      set.shadowed.push({ id: ep.id, word: words[0]! });
      continue;
    }
    if (words.length > MAX_DEPTH) {
      set.skipped.push({ id: ep.id, why: `its id has more than ${MAX_DEPTH} words` });
      continue;
    }
    set.commands.push(commandSpec(ep, words, set, reserved));
  }
  return set;
}

/**
 * One command's spec. Its options and help text are worked out when first
 * read: `opsctl --help` and TAB list every command but look into one at
 * most, and at start-up every millisecond counts (docs/architecture.md).
 */
function commandSpec(entry: CachedEndpoint, words: string[], set: ServiceCommandSet, reserved: ReadonlySet<string>): ServiceCommandSpec {
  let params: { options: ServiceOptionSpec[]; viaParam: string[] } | undefined;
  const parts = () => {
    if (params) return params;
    const ep = entry.descriptor();
    const props = typeof ep.params.properties === 'object' && ep.params.properties !== null ? ep.params.properties : {};
    const required = new Set(Array.isArray(ep.params.required) ? ep.params.required.filter((r) => typeof r === 'string') : []);
    params = { options: [], viaParam: [] };
    const attributes = new Set<string>();
    for (const [name, schema] of Object.entries(props)) {
      // commander keeps `--a-b` and `--aB` under one key (aB): the second is a --param.
      const attribute = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (!WORD.test(name) || reserved.has(name) || name.startsWith('no-') || attributes.has(attribute) || (ep.job && name === 'follow') || typeof schema !== 'object' || schema === null) {
        params.viaParam.push(name);
        continue;
      }
      attributes.add(attribute);
      params.options.push(optionSpec(name, schema, required.has(name)));
    }
    return params;
  };
  let after: string | undefined;
  const spec: ServiceCommandSpec = {
    words,
    id: entry.id,
    job: entry.job,
    get endpoint() {
      return entry.descriptor();
    },
    summary: oneLine(entry.summary, 200) || oneLine(entry.id, 200),
    extraParams: entry.extraParams,
    hasParams: entry.hasParams,
    get options() {
      return parts().options;
    },
    get viaParam() {
      return parts().viaParam;
    },
    get helpAfter() {
      after ??= helpAfter(entry.descriptor(), set, spec);
      return after;
    },
  };
  return spec;
}

/** Words of `s` in lines of at most `width` characters (help text is read in 80 columns). */
function wrap(s: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  out.push(line);
  return out.join('\n');
}

/** The `opsctl --help` paragraph about service commands: where they come from, or how to get them. */
export function serviceCommandsNote(set: ServiceCommandSet | undefined, context: string | undefined): string {
  const where = context ? `context "${oneLine(context, 100)}"` : 'commands run without a context';
  if (!set) {
    return `\n${wrap(`Service commands: a service's own endpoints (lb.disable) become commands (opsctl lb disable) once its catalog is cached for ${where}; any command that fetches the catalog caches it, e.g. opsctl endpoints.`, 80)}`;
  }
  const lines = [`\nThe service commands come from the catalog of ${set.service || 'the service'} ${set.version} cached for ${where}${set.updatedAt ? ` at ${set.updatedAt}` : ''}; opsctl endpoints refreshes it.`];
  if (!set.commands.length) lines.push('This service has no endpoints of its own.');
  if (set.shadowed.length) lines.push(`No command of their own (the first word is a built-in command), reached with opsctl call ID: ${set.shadowed.map((s) => oneLine(s.id, 200)).join(', ')}.`);
  if (set.skipped.length) lines.push(`No command of their own, reached with opsctl call ID: ${set.skipped.map((s) => `${s.id} (${s.why})`).join(', ')}.`);
  return lines.map((l) => wrap(l, 80)).join('\n');
}

/** The warning for endpoints that collide with built-in commands. */
export function shadowedWarning(service: string, shadowed: ServiceCommandSet['shadowed']): string {
  const list = shadowed.map((s) => `${oneLine(s.id, 200)} ("${oneLine(s.word, 64)}" is built in)`).join(', ');
  return `${shadowed.length === 1 ? 'endpoint' : 'endpoints'} of ${oneLine(service, 100) || 'the service'} with no command of ${shadowed.length === 1 ? 'its' : 'their'} own: ${list}; reach ${shadowed.length === 1 ? 'it' : 'them'} with opsctl call ID`;
}

/** One command of the service commands' tree: a noun (children), a leaf (spec), or both. */
export interface ServiceNode {
  name: string;
  words: string[];
  spec: ServiceCommandSpec | undefined;
  children: ServiceNode[];
}

/** The service commands as a tree of nodes, in the catalog's order (what commander and completion show). */
export function serviceTree(set: ServiceCommandSet): ServiceNode[] {
  const roots: ServiceNode[] = [];
  for (const spec of set.commands) {
    let level = roots;
    let node: ServiceNode | undefined;
    for (const [i, word] of spec.words.entries()) {
      node = level.find((n) => n.name === word);
      if (!node) {
        node = { name: word, words: spec.words.slice(0, i + 1), spec: undefined, children: [] };
        level.push(node);
      }
      level = node.children;
    }
    node!.spec = spec;
  }
  return roots;
}

/** What a node says in its parent's command list: a leaf's summary, a noun's commands. */
export function nodeDescription(set: Pick<ServiceCommandSet, 'service'>, node: ServiceNode): string {
  return node.spec ? node.spec.summary : `${set.service || 'Service'} endpoints: ${node.children.map((c) => c.name).join(', ')}`;
}

/** Whether the command has options of its own (commander then writes `[options]` after its name). */
export function leafHasOptions(spec: ServiceCommandSpec | undefined): boolean {
  return Boolean(spec && (spec.hasParams || spec.extraParams || spec.job));
}

/** The `list` leaf a noun runs when given alone, if it has one that needs no option. */
export function nounListing(node: ServiceNode): ServiceNode | undefined {
  const list = node.children.find((c) => c.name === 'list');
  return list?.spec && !list.spec.options.some((o) => o.mandatory) ? list : undefined;
}
