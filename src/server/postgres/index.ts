/**
 * opsctl/server/postgres — shared state for services with several replicas:
 * a PostgreSQL flag store (LISTEN/NOTIFY), a PostgreSQL grant store (every
 * replica honours a grant and its revocation from the next request) and a
 * PostgreSQL migration lock (advisory lock + a row naming the holder), and
 * a PostgreSQL notification queue (each event delivered once per fleet). The
 * only entry point that imports `pg`; `opsctl/server` itself never does.
 */
export { PostgresFlagStore, type PostgresFlagStoreOptions } from './flag-store.js';
export { PostgresGrantStore, type PostgresGrantStoreOptions } from './grant-store.js';
export { PostgresMigrationLock, type PostgresMigrationLockOptions } from './migration-lock.js';
export { PostgresNotifyQueue, type PostgresNotifyQueueOptions } from './notify-queue.js';
export { createSchema, type PostgresConnection, type PostgresClientConfig, type PostgresPool, type PostgresQueryable } from './connection.js';
