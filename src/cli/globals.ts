/** Global options shared by every command (README, man opsctl), parsed once by the root command. */
import { Option, type Command } from 'commander';
import { UsageError } from './errors/usage-error.js';
import { parseHopSpec } from './ssh-config/hop-spec.js';

export type OutputFormat = 'table' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json'];

export interface GlobalOptions {
  context?: string;
  bastion?: string;
  host?: string;
  /** Every --host value, comma lists split (a fleet when more than one). */
  hosts?: string[];
  /** --hosts-file: one host per line (# comments, blank lines ignored). */
  hostsFile?: string;
  /** Parallel nested SSH connections to hosts (default 16). */
  maxConcurrency?: number;
  /** --max-errors N or P%: stop scheduling hosts once more failed (default 0). */
  maxErrors?: string;
  /** --batch 1,25%,100%: waves of an instance-scoped change. */
  batch?: string;
  port?: number;
  identity?: string;
  knownHosts?: string;
  output: OutputFormat;
  /** --wide: terminal tables cut and leave out nothing (README, "Runbooks"). */
  wide?: boolean;
  yes: boolean;
  reason?: string;
  color: boolean;
  timeout: number;
  /** Largest response accepted from the internal port, in bytes (default DEFAULT_MAX_RESPONSE_SIZE). */
  maxResponseSize?: number;
  verbose: boolean;
  /** --dry-run: mutations carry Opsctl-Dry-Run: 1 (checked by the server, nothing applied). */
  dryRun?: boolean;
  /** --break-glass REASON: approval-gated mutations run at once (admins, where allowed). */
  breakGlass?: string;
  /** --no-wait sets false: a held request prints its approval and exits 0. */
  wait?: boolean;
}

export const DEFAULT_MAX_RESPONSE_SIZE = 16 * 1024 * 1024;

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`--port must be a number 1-65535, got "${v}"`);
  return n;
}

/** `--reason "$WHY"` with WHY unset would record an empty reason, or satisfy require-reason with nothing. */
function parseReason(v: string): string {
  if (!v.trim()) throw new UsageError('--reason is empty: say why (it goes into the audit log), or leave the option out');
  return v;
}

function parseTimeout(v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`--timeout must be a number of seconds greater than 0 and at most 3600 (e.g. 30 or 0.5), got "${v}"`);
  return n;
}

/**
 * An option that names a target must not be empty: `--host "$TARGET"` with
 * TARGET unset would otherwise fall back to the current context and act on
 * whatever that is. Refused (exit 2) while the command line is parsed.
 */
export function nonEmpty(flag: string, what: string): (v: string) => string {
  return (v) => {
    if (!v.trim()) throw new UsageError(`${flag} is empty: give ${what}, or leave the option out to use the context (an unset shell variable?)`);
    return v;
  };
}

/** Each `[user@]host[:port]` of a comma-separated list, checked before anything connects. */
function hopList(flag: string, what: string): (v: string) => string {
  const empty = nonEmpty(flag, what);
  return (v) => {
    empty(v);
    const parts = v.split(',').map((p) => p.trim());
    if (parts.some((p) => !p)) throw new UsageError(`${flag} "${v}" has an empty entry`);
    for (const p of parts) {
      try {
        parseHopSpec(p);
      } catch (e) {
        throw new UsageError(`${flag}: ${(e as Error).message}`);
      }
    }
    return v;
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `16MiB`, `512k`, `1048576`: binary units, because memory is what the limit protects. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1024 || n > 4 * 1024 ** 3) {
    throw new UsageError(`--max-response-size must be a size from 1KiB to 4GiB such as 64MiB or 1048576, got "${v}"`);
  }
  return n;
}

const checkHosts = hopList('--host', 'a host [user@]host[:port]');
function collectHosts(v: string, prev: string[] | undefined): string[] {
  checkHosts(v);
  return [...(prev ?? []), ...v.split(',').map((h) => h.trim())];
}

function parseConcurrency(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw new UsageError(`--max-concurrency must be a number 1-1024, got "${v}"`);
  return n;
}

function parseMaxErrors(v: string): string {
  if (!/^\d+%?$/.test(v) || (v.endsWith('%') && Number(v.slice(0, -1)) > 100)) throw new UsageError(`--max-errors must be a count (3) or a percentage (10%), got "${v}"`);
  return v;
}

function parseBatchOption(v: string): string {
  const waves = v.split(',').map((w) => w.trim());
  if (!waves.length || waves.some((w) => !/^\d+%?$/.test(w) || w === '0' || w === '0%' || (w.endsWith('%') && Number(w.slice(0, -1)) > 100))) {
    throw new UsageError(`--batch must be a list of host counts or percentages such as 1,25%,100%, got "${v}"`);
  }
  return waves.join(',');
}

/** Adds the global options to the root command. */
export function addGlobalOptions(program: Command): void {
  program
    .option('--context <name>', 'context from the config file to use (env OPSCTL_CONTEXT)')
    .option('--bastion <chain>', 'bastion chain [user@]host[:port][,...], like ssh -J', hopList('--bastion', 'a bastion chain [user@]host[:port][,...]'))
    .option('--host <host>', 'service host [user@]host[:port] (an ~/.ssh/config alias works); a,b,c or repeated for a fleet', collectHosts)
    .option('--hosts-file <file>', 'service hosts, one per line (a fleet)', nonEmpty('--hosts-file', 'a file with one host per line'))
    .option('--max-concurrency <n>', 'fleet: hosts connected and asked in parallel', parseConcurrency, 16)
    .option('--max-errors <n|p%>', 'fleet: stop scheduling more hosts once more than this many failed (default: 0)', parseMaxErrors)
    .option('--batch <waves>', 'fleet: change hosts in waves such as 1,25%,100%, halting when a done host turns unhealthy', parseBatchOption)
    .option('--port <n>', 'internal port on the service host\'s loopback (default: the context\'s, else 9900)', parsePort)
    .option('--identity <spec>', 'keychain:NAME | agent | FILE')
    .option('--known-hosts <file>', 'known_hosts file to check host keys against (replaces the defaults)', nonEmpty('--known-hosts', 'a known_hosts file'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .option('--wide', 'tables on a terminal: cut no cell and leave out no column (long cells wrap instead)')
    .option('-y, --yes', 'do not ask before destructive actions (required when not interactive)')
    .option('--reason <text>', 'why: recorded in the server\'s audit log', parseReason)
    .option('--no-color', 'no colour (also: NO_COLOR)')
    .option('--timeout <seconds>', 'give up after this long: connecting, each request until fully answered, and silence in a stream', parseTimeout, 15)
    .option('--max-response-size <size>', 'largest answer accepted from the service, e.g. 64MiB (default: 16MiB)', parseSize)
    .option('-v, --verbose', 'say what happens on the way (hops, timings)')
    .option('--dry-run', 'the server checks everything (role, params, plan, lock) and applies nothing; shows what would change')
    .option('--break-glass <reason>', 'admins: run a request that needs approval at once, where the service allows it (type "break glass" to confirm)')
    .option('--no-wait', 'when a request is held for approval, print the approval and exit 0 instead of waiting');
}

export function readGlobals(program: Command): GlobalOptions {
  const o = program.opts() as Record<string, unknown>;
  const g: GlobalOptions = {
    output: (o.output as OutputFormat) ?? 'table',
    yes: Boolean(o.yes),
    color: o.color !== false,
    timeout: typeof o.timeout === 'number' ? o.timeout : 15,
    verbose: Boolean(o.verbose),
    maxConcurrency: typeof o.maxConcurrency === 'number' ? o.maxConcurrency : 16,
  };
  if (typeof o.context === 'string') g.context = o.context;
  if (typeof o.bastion === 'string') g.bastion = o.bastion;
  if (Array.isArray(o.host) && o.host.length) {
    g.hosts = o.host as string[];
    g.host = g.hosts.join(',');
  }
  if (typeof o.hostsFile === 'string') g.hostsFile = o.hostsFile;
  if (typeof o.maxErrors === 'string') g.maxErrors = o.maxErrors;
  if (typeof o.batch === 'string') g.batch = o.batch;
  if (typeof o.port === 'number') g.port = o.port;
  if (typeof o.identity === 'string') g.identity = o.identity;
  if (typeof o.knownHosts === 'string') g.knownHosts = o.knownHosts;
  if (typeof o.reason === 'string') g.reason = o.reason;
  if (typeof o.maxResponseSize === 'number') g.maxResponseSize = o.maxResponseSize;
  if (o.dryRun === true) g.dryRun = true;
  if (o.wide === true) g.wide = true;
  if (typeof o.breakGlass === 'string') {
    if (!o.breakGlass.trim()) throw new UsageError('--break-glass needs a reason: it goes into the audit log and is your acknowledgment');
    g.breakGlass = o.breakGlass;
  }
  if (o.wait === false) g.wait = false;
  return g;
}
