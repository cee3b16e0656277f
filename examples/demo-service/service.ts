import fs from 'node:fs';
import path from 'node:path';
import { OpenFeature } from '@openfeature/server-sdk';
import { createInternalPort } from '../../src/server/index.js';
import { createOpenFeatureProvider } from '../../src/server/openfeature/index.js';
import type { InternalPort, InternalPortOptions, NotifyQueueStore } from '../../src/server/options.js';
import { SqliteMigrationLock } from './db/migration-lock.js';
import { createMigrator } from './db/migrator.js';
import { openDatabase, type Db } from './db/open-database.js';
import type { Logger } from './logger.js';
import { demoFlags } from './ops/feature-flags.js';
import type { OrdersDatabase } from './orders/orders-store.js';
import { sqliteOrdersDatabase } from './orders/sqlite-orders.js';
import { FLAG_DEFINITIONS } from './ops/flags.js';
import { healthChecks } from './ops/health.js';
import { createMetrics } from './ops/metrics.js';
import { ordersStatsEndpoint } from './ops/stats-endpoint.js';
import { ordersCancelEndpoint, ordersListEndpoint } from './ops/orders-endpoints.js';
import { clearMigrationLockTask } from './ops/tasks/clear-migration-lock.js';
import { purgeCancelledOrdersTask } from './ops/tasks/purge-cancelled-orders.js';
import { recomputeTotalsTask } from './ops/tasks/recompute-totals.js';
import { rotateWebhookSecretTask } from './ops/tasks/rotate-webhook-secret.js';
import { startPublicServer, type PublicServer } from './public/public-server.js';

export const SERVICE_NAME = 'demo-orders';
export const SERVICE_VERSION = '1.0.0';
/** The database file inside the data dir. */
export const DATABASE_FILE = 'orders.sqlite';

export interface DemoServiceConfig {
  dataDir: string;
  internalHost: string;
  internalPort: number;
  allowNonLoopback: boolean;
  publicHost: string;
  publicPort: number;
  authorizedKeysFile: string;
  auditLogFile: string;
  slowMigrationsMs?: number;
  /** Audit shipping targets (syslog URLs, `stdout`). */
  auditSinks?: string[];
  /** With the stdout sink: records wait until this settles (the address line goes first). */
  auditStdoutAfter?: Promise<unknown>;
  auditCheckpointEvery?: number;
  auditCheckpointSeconds?: number;
  /** PostgreSQL URL shared by replicas; undefined → SQLite in the data dir only. */
  database?: string;
  /** Default true: migrations.down and purge-cancelled-orders need one approval (break-glass allowed). */
  approvals?: boolean;
  approvalExpirySeconds?: number;
  /** InternalPortOptions.verifyOnThreadPool (0: the verify on the event loop, the default). */
  verifyOnThreadPool?: number;
  /** Event notifications: webhook URLs, their whsec_ secret file, a Slack URL file (docs/notifications.md). */
  notifyUrls?: string[];
  notifySecretFile?: string;
  notifySlackUrlFile?: string;
  /** Serve the flags over OFREP too (src/server/README.md, "OFREP"): unix:/PATH or a loopback HOST:PORT. */
  ofrep?: string;
  log: Logger;
}

export interface RunningDemoService {
  internal: { host: string; port: number };
  public: { host: string; port: number };
  port: InternalPort;
  /** Where the orders live: SQLite in the data dir, or PostgreSQL with --database. */
  data: OrdersDatabase;
  /** The SQLite handle (undefined with --database: nothing is kept in the data dir's database then). */
  db: Db | undefined;
  /** Closes both listeners, then the database. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * --notify / --notify-secret-file / --notify-slack-url-file as the port's
 * notifications option; with --database the queue lives in PostgreSQL, so a
 * fleet of replicas delivers each event once (docs/notifications.md).
 */
function notificationOptions(config: DemoServiceConfig, shared: { notifyQueue: NotifyQueueStore } | undefined): Pick<InternalPortOptions, 'notifications'> {
  const urls = config.notifyUrls ?? [];
  if (!urls.length && !config.notifySlackUrlFile) return {};
  return {
    notifications: {
      endpoints: [
        ...urls.map((url) => ({ url })),
        ...(config.notifySlackUrlFile ? [{ kind: 'slack' as const, urlFile: config.notifySlackUrlFile }] : []),
      ],
      ...(config.notifySecretFile ? { secretFile: config.notifySecretFile } : {}),
      command: `opsctl --context ${SERVICE_NAME}`,
      ...(shared ? { store: shared.notifyQueue } : {}),
    },
  };
}

/** Starts the demo service: database, internal port, public API, in that order. */
export async function startDemoService(config: DemoServiceConfig): Promise<RunningDemoService> {
  const { log } = config;
  if (fs.existsSync(config.dataDir) && !fs.statSync(config.dataDir).isDirectory()) throw new Error(`--data-dir ${config.dataDir} is not a directory`);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // --database: orders, flags, lock, migrations in PostgreSQL, shared by every
  // replica on the URL (loaded only then: pg is not needed otherwise), and no
  // SQLite file at all, so no replica can serve orders the others cannot see.
  const shared = config.database
    ? await (await import('./db/postgres/pg-backend.js')).openPostgresBackend(config.database, { log, delayMs: config.slowMigrationsMs ?? 0 })
    : undefined;
  const db = shared ? undefined : openDatabase(path.join(config.dataDir, DATABASE_FILE));
  const data = shared?.data ?? sqliteOrdersDatabase(db!);
  const closeDatabase = async () => {
    await shared?.close();
    db?.close();
  };
  const metrics = createMetrics(data);
  const lock = shared?.lock ?? new SqliteMigrationLock(db!);
  let port: InternalPort;
  let portRef: InternalPort['flags'] | undefined;
  try {
    port = await createInternalPort({
      service: { name: SERVICE_NAME, version: SERVICE_VERSION },
      host: config.internalHost,
      port: config.internalPort,
      allowNonLoopback: config.allowNonLoopback,
      authorizedKeysFile: config.authorizedKeysFile,
      auditLogFile: config.auditLogFile,
      ...(config.verifyOnThreadPool !== undefined ? { verifyOnThreadPool: config.verifyOnThreadPool } : {}),
      audit: {
        sinks: config.auditSinks ?? [],
        ...(config.auditStdoutAfter ? { stdoutAfter: config.auditStdoutAfter } : {}),
        ...(config.auditCheckpointEvery ? { checkpointEvery: config.auditCheckpointEvery } : {}),
        ...(config.auditCheckpointSeconds ? { checkpointSeconds: config.auditCheckpointSeconds } : {}),
      },
      // --database: grants in PostgreSQL too, so every replica honours a grant and its revocation.
      ...(shared ? { grants: { store: shared.grantStore } } : {}),
      flags: shared ? { definitions: FLAG_DEFINITIONS, store: shared.flagStore } : { definitions: FLAG_DEFINITIONS, file: path.join(config.dataDir, 'flags.json') },
      migrations: {
        migrator: shared?.migrator ?? createMigrator(db!, { log, delayMs: config.slowMigrationsMs ?? 0 }),
        lock,
      },
      tasks: [recomputeTotalsTask(data), purgeCancelledOrdersTask(data, { approvals: config.approvals !== false }), clearMigrationLockTask(lock), rotateWebhookSecretTask()],
      // A second person reviews the two actions that destroy data; an admin
      // may break glass in an incident (src/server/README.md, "Approvals").
      approvals: {
        endpoints: config.approvals !== false ? { 'migrations.down': { count: 1, breakGlass: true } } : {},
        ...(config.approvalExpirySeconds ? { expirySeconds: config.approvalExpirySeconds } : {}),
      },
      ...notificationOptions(config, shared),
      metricsRegistry: metrics.registry,
      healthChecks: healthChecks(data, () => portRef),
      endpoints: [ordersStatsEndpoint(data), ordersListEndpoint(data), ordersCancelEndpoint(data, { approvals: config.approvals !== false })],
      ...(config.ofrep !== undefined ? { ofrep: { listen: config.ofrep } } : {}),
      log,
    });
    portRef = port.flags;
  } catch (e) {
    await closeDatabase();
    throw e;
  }
  let publicServer: PublicServer;
  try {
    // The service's own code reads flags through OpenFeature, as it would
    // with any other flag backend (src/server/README.md, "OpenFeature").
    await OpenFeature.setProviderAndWait(createOpenFeatureProvider(port));
    const flags = demoFlags(OpenFeature.getClient(SERVICE_NAME));
    publicServer = await startPublicServer({ data, flags, metrics, host: config.publicHost, port: config.publicPort, log });
  } catch (e) {
    await OpenFeature.close().catch(() => {});
    await port.close().catch(() => {});
    await closeDatabase();
    throw e;
  }
  const internalPort = port;
  let closing: Promise<void> | undefined;
  return {
    internal: { host: internalPort.host ?? config.internalHost, port: internalPort.port ?? 0 },
    public: { host: publicServer.host, port: publicServer.port },
    port: internalPort,
    data,
    db,
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([publicServer.close(), internalPort.close(), OpenFeature.close()]);
        await closeDatabase();
      })()),
  };
}
