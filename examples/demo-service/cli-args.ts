import { parseArgs } from 'node:util';
import path from 'node:path';
import { UsageError } from './usage-error.js';

export const USAGE = `usage: demo-service --data-dir DIR --internal-port N --public-port N --authorized-keys FILE
                    [--audit-log FILE] [--internal-host HOST] [--allow-non-loopback] [--public-host HOST]
                    [--slow-migrations MS] [--audit-syslog udp://HOST:PORT|tcp://HOST:PORT|unix:PATH]...
                    [--audit-stdout] [--audit-checkpoint-every N] [--audit-checkpoint-seconds S]
                    [--database URL] [--approval-expiry SECONDS] [--no-approvals]
                    [--notify URL]... [--notify-secret-file FILE] [--notify-slack-url-file FILE]
                    [--ofrep unix:/PATH|127.0.0.1:PORT] [--ready-file FILE] [--verify-on-thread-pool N]

Starts the demo orders service: a public HTTP API on --public-port and the
opsctl internal port on --internal-port (0 = a free port for either). Once both
listen it prints one line on stdout: {"internal":"HOST:PORT","public":"HOST:PORT"}
(with --ofrep also "ofrep":"HOST:PORT" or the socket path) and writes the same line
to --ready-file. Logs go to stderr. With
--audit-stdout, the audit records follow that first line on stdout, one JSON
line each. Under plain \`npm run\`, npm prints its own "> opsctl@… demo-service"
banner on stdout first: use \`npm run -s demo-service\` or --ready-file.

  --data-dir DIR          where the SQLite database and flag values live (created if missing)
  --internal-port N       the internal port (opsctl), bound to loopback
  --public-port N         the public orders API
  --authorized-keys FILE  allowlist of operator keys (authorized_keys format, role="viewer|operator|admin")
  --audit-log FILE        audit log (default DIR/audit.log)
  --internal-host HOST    default 127.0.0.1; non-loopback needs --allow-non-loopback
  --allow-non-loopback    permit a non-loopback internal host (not recommended)
  --public-host HOST      default 127.0.0.1
  --slow-migrations MS    pause MS before each migration (to watch migration jobs in demos and tests)
  --audit-syslog TARGET   also ship every audit record to syslog (RFC 5424): udp://HOST:PORT,
                          tcp://HOST:PORT (octet-counted, reconnecting) or unix:PATH (stream); repeatable
  --audit-stdout          also write every audit record to stdout as JSON Lines (after the address line)
  --audit-checkpoint-every N    a signed audit checkpoint every N records (default 1000)
  --audit-checkpoint-seconds S  and every S seconds when records were added (default 60)
  --database URL          a PostgreSQL URL (postgresql://user@host:5432/db, as pg accepts it) shared by
                          several replicas: flags, the migration lock, the migrations table and the
                          migrated schema live there (default: SQLite in DIR)
  --approval-expiry S     how long a held request waits for its approval (default 3600)
  --no-approvals          run migrations.down and purge-cancelled-orders without a second person's
                          approval (by default each needs one, break-glass allowed)
  --notify URL            send signed event notifications (Standard Webhooks: approvals, break-glass,
                          grants, destructive jobs) to this http(s) URL; repeatable (docs/notifications.md)
  --notify-secret-file FILE  a whsec_ secret for the HMAC (v1) signature of every --notify delivery;
                          without it only the Ed25519 (v1a) signature is sent (its key is in health)
  --notify-slack-url-file FILE  also post readable messages to the Slack incoming-webhook URL in FILE
  --ofrep LISTEN          also serve the flags read-only over OFREP (OpenFeature Remote Evaluation
                          Protocol) for a service in any language: unix:/PATH (socket 0600),
                          127.0.0.1:PORT, [::1]:PORT or localhost:PORT (0 = a free port); unsigned,
                          so loopback or a unix socket only
  --ready-file FILE       once both ports listen, write the address line to FILE (atomically: it
                          appears complete or not at all; any old FILE is removed at start, and
                          FILE again at a clean exit) — for a supervisor or script whose stdout
                          is not the service's own
  --verify-on-thread-pool N  run each request's Ed25519 verify on libuv's thread pool, N at a
                          time, instead of on the event loop (default 0: less CPU per request;
                          src/server/README.md, "Performance of the internal port")`;

export interface DemoServiceArgs {
  dataDir: string;
  internalPort: number;
  publicPort: number;
  authorizedKeysFile: string;
  auditLogFile: string;
  internalHost: string;
  publicHost: string;
  allowNonLoopback: boolean;
  slowMigrationsMs: number;
  /** Audit shipping targets (syslog URLs, `stdout`). */
  auditSinks: string[];
  auditCheckpointEvery?: number;
  auditCheckpointSeconds?: number;
  /** A PostgreSQL URL; undefined → SQLite in the data dir. */
  database?: string;
  /** false with --no-approvals. */
  approvals: boolean;
  approvalExpirySeconds: number;
  /** Where to write the address line too (--ready-file). */
  readyFile?: string;
  /** --notify URLs (Standard Webhooks receivers). */
  notifyUrls: string[];
  notifySecretFile?: string;
  notifySlackUrlFile?: string;
  /** --ofrep: where the OFREP listener listens (checked by the server module). */
  ofrep?: string;
}

function port(name: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`missing required flag --${name}`);
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535 (got "${raw}")`);
  return Number(raw);
}

function required(name: string, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError(`missing required flag --${name}`);
  if (raw.trim() === '') throw new UsageError(`--${name} must not be empty`);
  return raw;
}

/** Parses the command line; throws UsageError for anything unknown, missing or malformed. `null` means --help. */
export function parseDemoArgs(argv: string[]): DemoServiceArgs | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        'internal-port': { type: 'string' },
        'public-port': { type: 'string' },
        'authorized-keys': { type: 'string' },
        'audit-log': { type: 'string' },
        'internal-host': { type: 'string' },
        'public-host': { type: 'string' },
        'allow-non-loopback': { type: 'boolean' },
        'slow-migrations': { type: 'string' },
        'audit-syslog': { type: 'string', multiple: true },
        'audit-stdout': { type: 'boolean' },
        'audit-checkpoint-every': { type: 'string' },
        'audit-checkpoint-seconds': { type: 'string' },
        database: { type: 'string' },
        'approval-expiry': { type: 'string' },
        'no-approvals': { type: 'boolean' },
        'ready-file': { type: 'string' },
        notify: { type: 'string', multiple: true },
        'notify-secret-file': { type: 'string' },
        'notify-slack-url-file': { type: 'string' },
        ofrep: { type: 'string' },
        'verify-on-thread-pool': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    // node's messages are good but multi-line; keep the first line.
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  if (values.help) return null;
  const missing = ['data-dir', 'internal-port', 'public-port', 'authorized-keys'].filter((k) => values[k as keyof typeof values] === undefined);
  if (missing.length) throw new UsageError(`missing required flag${missing.length > 1 ? 's' : ''} ${missing.map((m) => `--${m}`).join(', ')}`);
  const dataDir = path.resolve(required('data-dir', values['data-dir']));
  const slow = values['slow-migrations'] ?? '0';
  if (!/^\d{1,6}$/.test(slow)) throw new UsageError(`--slow-migrations must be a number of milliseconds (got "${slow}")`);
  const syslog = values['audit-syslog'] ?? [];
  for (const t of syslog) {
    if (!/^(udp|tcp):\/\/\[?[^\]/]+\]?:\d{1,5}$/.test(t) && !/^unix:\/.+/.test(t)) {
      throw new UsageError(`--audit-syslog must be udp://HOST:PORT, tcp://HOST:PORT or unix:/PATH (got "${t}")`);
    }
  }
  const positive = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${name} must be a whole number of at least 1 (got "${raw}")`);
    return Number(raw);
  };
  const every = positive('audit-checkpoint-every', values['audit-checkpoint-every']);
  const seconds = positive('audit-checkpoint-seconds', values['audit-checkpoint-seconds']);
  const database = values.database;
  if (database !== undefined && !/^postgres(ql)?:\/\//.test(database)) throw new UsageError('--database must be a PostgreSQL URL (postgresql://user@host:port/db)');
  const expiry = values['approval-expiry'] ?? '3600';
  if (!/^\d{1,6}$/.test(expiry) || Number(expiry) < 1) throw new UsageError(`--approval-expiry must be a number of seconds, at least 1 (got "${expiry}")`);
  const readyFile = values['ready-file'] === undefined ? undefined : path.resolve(required('ready-file', values['ready-file']));
  const notifyUrls = values.notify ?? [];
  for (const u of notifyUrls) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError('--notify must be an http:// or https:// URL');
  }
  const secretFile = values['notify-secret-file'] === undefined ? undefined : path.resolve(required('notify-secret-file', values['notify-secret-file']));
  if (secretFile !== undefined && !notifyUrls.length) throw new UsageError('--notify-secret-file signs --notify deliveries: give at least one --notify URL');
  const slackFile = values['notify-slack-url-file'] === undefined ? undefined : path.resolve(required('notify-slack-url-file', values['notify-slack-url-file']));
  const ofrep = values.ofrep === undefined ? undefined : required('ofrep', values.ofrep);
  const pool = values['verify-on-thread-pool'];
  if (pool !== undefined && !/^\d{1,2}$/.test(pool)) throw new UsageError(`--verify-on-thread-pool must be a whole number from 0 to 64 (got "${pool}")`);
  return {
    notifyUrls,
    ...(secretFile !== undefined ? { notifySecretFile: secretFile } : {}),
    ...(slackFile !== undefined ? { notifySlackUrlFile: slackFile } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(ofrep !== undefined ? { ofrep } : {}),
    ...(pool !== undefined ? { verifyOnThreadPool: Number(pool) } : {}),
    ...(readyFile !== undefined ? { readyFile } : {}),
    dataDir,
    internalPort: port('internal-port', values['internal-port']),
    publicPort: port('public-port', values['public-port']),
    authorizedKeysFile: path.resolve(required('authorized-keys', values['authorized-keys'])),
    auditLogFile: path.resolve(values['audit-log'] ?? path.join(dataDir, 'audit.log')),
    internalHost: values['internal-host'] ?? '127.0.0.1',
    publicHost: values['public-host'] ?? '127.0.0.1',
    allowNonLoopback: values['allow-non-loopback'] ?? false,
    slowMigrationsMs: Number(slow),
    auditSinks: [...syslog, ...(values['audit-stdout'] ? ['stdout'] : [])],
    ...(every !== undefined ? { auditCheckpointEvery: every } : {}),
    ...(seconds !== undefined ? { auditCheckpointSeconds: seconds } : {}),
    approvals: values['no-approvals'] !== true,
    approvalExpirySeconds: Number(expiry),
  };
}
