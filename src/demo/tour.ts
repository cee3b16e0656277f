/**
 * The narrated tour: each step prints the exact `opsctl …` command and runs
 * the real CLI (bin/opsctl.js) through the real SSH route to the demo
 * service, then shows the effect on the service's public API.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { Narrator } from './narrator.js';
import { DEMO_CONTEXT, DEMO_OPERATOR, DEMO_USER, type Workspace } from './workspace.js';
import type { HostPort } from './service-process.js';

export interface TourSetup {
  /** bin/opsctl.js */
  cli: string;
  ws: Workspace;
  narrator: Narrator;
  bastionPort: number;
  hostPort: number;
  internal: HostPort;
  public: HostPort;
  /** Aborted on Ctrl-C: the running command is stopped. */
  signal: AbortSignal;
}

/** A step that did not do what it should; the demo names it and exits 1. */
export class StepFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailedError';
  }
}

const STEP_TIMEOUT_MS = 90_000;

export interface RunAs {
  /** Run as the second person (bob), in his environment, shown as "bob$ …". */
  second?: boolean;
  /** Not narrated, output dropped (set-up the reader need not see). */
  quiet?: boolean;
  /** Keep stdout (it is still shown) and resolve with it. */
  capture?: boolean;
}

/** Runs one `opsctl …` of the tour, printed first; a non-zero exit fails the step. */
export function opsctl(s: TourSetup, args: string[], as: RunAs = {}): Promise<string> {
  if (!as.quiet) s.narrator.command(['opsctl', ...args], as.second ? s.ws.second.name : '');
  return new Promise((resolve, reject) => {
    const env = as.second ? s.ws.second.env : s.ws.env;
    const child = spawn(process.execPath, [s.cli, ...args], { env, stdio: ['ignore', as.quiet || as.capture ? 'pipe' : 'inherit', as.quiet ? 'ignore' : 'inherit'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!as.quiet) s.narrator.write(d);
    });
    const kill = () => child.kill('SIGTERM');
    const timer = setTimeout(kill, STEP_TIMEOUT_MS);
    s.signal.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => reject(new StepFailedError(`opsctl ${args[0]}: ${e.message}`)));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      s.signal.removeEventListener('abort', kill);
      if (code === 0) resolve(stdout);
      else reject(new StepFailedError(`opsctl ${args.join(' ')} exited ${code ?? signal}`));
    });
  });
}

export interface PublicAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One request to the service's public API, shown as the curl that does the same. */
export function publicApi(s: TourSetup, method: 'GET' | 'POST', path: string, body?: unknown): Promise<PublicAnswer> {
  const url = `http://${s.public.host}:${s.public.port}${path}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  s.narrator.command(payload ? ['curl', '-s', '-X', method, url, '-H', 'content-type: application/json', '-d', payload] : ['curl', '-s', url]);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: payload ? { 'content-type': 'application/json' } : {}, signal: s.signal }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.once('error', (e) => reject(new StepFailedError(`public API ${method} ${path}: ${e.message}`)));
    req.end(payload);
  });
}

export function expectStatus(s: TourSetup, a: PublicAnswer, status: number, summary: (b: Record<string, unknown>) => string): void {
  const line = `HTTP ${a.status} ${summary(a.body)}`;
  if (a.status !== status) {
    s.narrator.fail(line);
    throw new StepFailedError(`the public API answered ${a.status}, expected ${status}`);
  }
  s.narrator.ok(line);
}

const money = (v: unknown) => (typeof v === 'number' ? v.toFixed(2) : String(v));
const orderLine = (b: Record<string, unknown>) =>
  `order #${String(b.id)}: ${String(b.quantity)} × ${String(b.item)} at ${money(b.unitPrice)}, total ${money(b.total)}${b.discountPercent ? ` (${String(b.discountPercent)}% off)` : ''}`;
const orderBy = (customer: string) => (b: Record<string, unknown>) => `${orderLine(b)} for ${customer}`;

export interface Step {
  title: string;
  run(s: TourSetup): Promise<void>;
}

export const STEPS: Step[] = [
  {
    title: 'A context: where the service is, and how to get there',
    async run(s) {
      s.narrator.say(`A bastion and a service host are running in this process (ssh2 servers with pinned host keys that
        accept only the demo key and forward only to the next hop), and the demo orders service listens on
        ${s.internal.host}:${s.internal.port} — its internal port, on loopback. A context saves the route once:`);
      const route = [
        '--bastion', `${DEMO_USER}@127.0.0.1:${s.bastionPort}`,
        '--host', `${DEMO_USER}@127.0.0.1:${s.hostPort}`,
        '--port', String(s.internal.port),
      ];
      await opsctl(s, ['context', 'add', DEMO_CONTEXT, ...route, '--identity', s.ws.operatorKeyFile, '--known-hosts', s.ws.knownHostsFile]);
      await opsctl(s, ['context', 'add', DEMO_CONTEXT, ...route, '--identity', s.ws.second.keyFile, '--known-hosts', s.ws.knownHostsFile], { second: true, quiet: true });
      s.narrator.say(`You are ${DEMO_OPERATOR}, an admin. ${s.ws.second.name}, a second admin, has the same context on his side with his own key.`);
    },
  },
  {
    title: 'Check every hop',
    async run(s) {
      s.narrator.say('doctor walks the route a command takes: config, key, each SSH hop with its time, the internal port, protocol, clock.');
      await opsctl(s, ['doctor']);
      s.narrator.say('The service reports itself degraded: its database migrations are pending. Fixing that is what the internal port is for.');
    },
  },
  {
    title: 'Health and the catalog, through the tunnel',
    async run(s) {
      s.narrator.say('Every request is signed with the operator key (RFC 9421) and checked against the service\'s allowlist.');
      await opsctl(s, ['health']);
      await opsctl(s, ['endpoints']);
    },
  },
  {
    title: 'Migrations: review the plan, then apply exactly that plan',
    async run(s) {
      await opsctl(s, ['migrate', 'plan']);
      s.narrator.say('migrate up shows the plan, asks (--yes answers for a runbook), sends the plan hash so nothing else gets applied, and follows the server-owned job.');
      await opsctl(s, ['migrate', 'up', '--yes', '--reason', 'demo: first deploy']);
    },
  },
  {
    title: 'Feature flags change the public API at runtime',
    async run(s) {
      expectStatus(s, await publicApi(s, 'POST', '/orders', { item: 'coffee beans', quantity: 2, unitPrice: 12.5, customer: 'alice' }), 201, orderBy('alice'));
      s.narrator.say('discount_percent is a rollout: the service reads it through OpenFeature as "is this customer in?", by consistent hashing, so raising it only adds customers.');
      await opsctl(s, ['flags', 'set', 'discount_percent', '20', '--reason', 'demo: spring sale for a fifth of customers']);
      expectStatus(s, await publicApi(s, 'POST', '/orders', { item: 'coffee beans', quantity: 2, unitPrice: 12.5, customer: 'alice' }), 201, orderBy('alice'));
      expectStatus(s, await publicApi(s, 'POST', '/orders', { item: 'coffee beans', quantity: 2, unitPrice: 12.5, customer: 'bob' }), 201, orderBy('bob'));
      await opsctl(s, ['flags', 'enable', 'maintenance_mode', '--reason', 'demo: pause writes']);
      expectStatus(s, await publicApi(s, 'POST', '/orders', { item: 'tea', quantity: 1, unitPrice: 4 }), 503, (b) => String(b.detail ?? b.title ?? ''));
      expectStatus(s, await publicApi(s, 'GET', '/orders'), 200, (b) => `${Array.isArray(b.orders) ? b.orders.length : '?'} orders: reads keep working`);
      await opsctl(s, ['flags', 'disable', 'maintenance_mode', '--reason', 'demo: resume writes']);
      await opsctl(s, ['flags', 'list']);
    },
  },
  {
    title: 'Metrics',
    async run(s) {
      await opsctl(s, ['metrics', '--filter', '^demo_orders']);
    },
  },
  {
    title: 'A maintenance task, with progress',
    async run(s) {
      s.narrator.say('The task runs as a job owned by the server: a dropped connection never aborts it; opsctl jobs logs ID --follow re-attaches.');
      await opsctl(s, ['tasks', 'run', 'recompute-totals', '--follow']);
    },
  },
  {
    title: 'Two people: a held request, approved by a second admin',
    async run(s) {
      s.narrator.say(`The service wants a second person for purge-cancelled-orders: the request is checked, then held. ${s.ws.second.name} approves exactly
        the bytes ${DEMO_OPERATOR} signed (${DEMO_OPERATOR} could not approve her own), and it runs as ${DEMO_OPERATOR}.`);
      const id = (await opsctl(s, ['tasks', 'run', 'purge-cancelled-orders', '--param', 'olderThanDays=30', '--yes', '--no-wait'], { capture: true })).trim();
      if (!/^[A-Za-z0-9]+$/.test(id)) throw new StepFailedError(`expected an approval id, got ${JSON.stringify(id)}`);
      await opsctl(s, ['approvals', 'approve', id, '--yes', '--reason', 'demo: checked the params'], { second: true });
    },
  },
  {
    title: 'The audit log: who did what, hash-chained',
    async run(s) {
      await opsctl(s, ['audit', 'tail', '-n', '8']);
      await opsctl(s, ['audit', 'verify']);
    },
  },
];
