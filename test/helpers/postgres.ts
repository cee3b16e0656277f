/**
 * Test harness: a real, throwaway PostgreSQL cluster (Debian's package:
 * apt-get install postgresql). PostgreSQL refuses to run as root, so initdb and pg_ctl run as
 * the `postgres` user; the server listens only on a unix socket in a private
 * temp dir (no TCP), trust auth for the user `opsctl`. Unix sockets are files,
 * so processes in other network namespaces reach the same socket.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './sshd.js';

export interface Postgres {
  /** The directory holding the unix socket (the `host` pg expects for a socket). */
  socketDir: string;
  port: number;
  user: 'opsctl';
  /** A connection URL for a database of this cluster, as `pg` and the demo's --database accept it. */
  url(database?: string): string;
  /** pg client config for a database of this cluster. */
  config(database?: string): { host: string; port: number; user: string; database: string };
  /** Creates a fresh database and returns its name. */
  createDatabase(prefix?: string): string;
  /** Runs SQL with psql against a database; returns stdout (throws on failure). */
  psql(sql: string, database?: string): string;
  /** Stops the server (fast shutdown: every session is terminated). */
  stopServer(): void;
  /** Starts it again on the same socket and port. */
  startServer(): void;
  /** Stops the cluster and removes its files. Idempotent. */
  stop(): Promise<void>;
}

function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return null;
  const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0]!, 'bin') : null;
}

/** Why PostgreSQL cannot run here, or null when it can. */
export function postgresMissing(): string | null {
  if (!pgBinDir()) return 'PostgreSQL server binaries are not installed (apt-get install postgresql)';
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) return 'there is no postgres user to run the server as';
  if (process.getuid?.() !== 0) return 'starting a throwaway PostgreSQL as the postgres user needs root (runuser)';
  if (spawnSync('psql', ['--version'], { stdio: 'ignore' }).error) return 'psql is not installed';
  return null;
}

/** Skips the test when PostgreSQL is missing, except under CI=true where that is a failure. */
export function requirePostgres(t: TestContext): boolean {
  const missing = postgresMissing();
  if (!missing) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${missing}`);
  t.skip(missing);
  return true;
}

function asPostgres(bin: string, args: string[]): void {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}

/** initdb + start (≈ 1 s). */
export async function startPostgres(): Promise<Postgres> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed');
  // Short path: a unix socket path must fit in 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-pg-'));
  fs.chmodSync(dir, 0o700);
  spawnSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'opsctl', '--no-sync']);
  let port = 0;
  const start = () => asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c max_connections=200`, 'start']);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    // The port only names the socket file (.s.PGSQL.PORT); free on TCP is a good enough guess.
    port = await freePort();
    try {
      start();
      lastError = undefined;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (lastError) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }
  let running = true;
  let stopped = false;
  const psql = (sql: string, database = 'postgres'): string => {
    const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'opsctl', '-d', database, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout;
  };
  let n = 0;
  return {
    socketDir: dir,
    port,
    user: 'opsctl',
    url: (database = 'postgres') => `postgresql://opsctl@${encodeURIComponent(dir)}:${port}/${database}`,
    config: (database = 'postgres') => ({ host: dir, port, user: 'opsctl', database }),
    createDatabase(prefix = 'fleet') {
      const name = `${prefix}_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`;
      psql(`CREATE DATABASE ${name}`);
      return name;
    },
    psql,
    stopServer() {
      if (!running) return;
      asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
    startServer() {
      if (running) return;
      start();
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (running) asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        running = false;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
