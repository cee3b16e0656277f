/**
 * The tour of `npm run demo -- --sidecar`: the same real CLI through the same
 * SSH route, but the internal port is opsctl-port in front of a Python shop
 * that has no opsctl code — its alembic migrations, a maintenance command
 * and its feature flags (read by the shop over OFREP), every call signed,
 * role-checked and audited.
 */
import { DEMO_CONTEXT, DEMO_USER } from './workspace.js';
import { expectStatus, opsctl, publicApi, type Step } from './tour.js';

const itemsLine = (b: Record<string, unknown>) => `${Array.isArray(b.items) ? b.items.length : '?'} item(s): ${Array.isArray(b.items) ? b.items.map((i: { name?: unknown }) => String(i.name)).join(', ') : String(b.error ?? '')}`;

export function sidecarSteps(o: { ofrep: boolean }): Step[] {
  return [
    {
      title: 'A Python service with no opsctl code, and opsctl-port beside it',
      async run(s) {
        s.narrator.say(`The shop (examples/sidecar/python-app) is plain Python with SQLite; alembic migrates it and
          maintenance.py cleans it. opsctl-port reads examples/sidecar/python-app/opsctl-port.yaml and serves
          the internal port on ${s.internal.host}:${s.internal.port}, forwarding each endpoint to a command.
          A context saves the SSH route to it:`);
        await opsctl(s, [
          'context', 'add', DEMO_CONTEXT,
          '--bastion', `${DEMO_USER}@127.0.0.1:${s.bastionPort}`,
          '--host', `${DEMO_USER}@127.0.0.1:${s.hostPort}`,
          '--port', String(s.internal.port),
          '--identity', s.ws.operatorKeyFile,
          '--known-hosts', s.ws.knownHostsFile,
        ]);
        await opsctl(s, ['health']);
        s.narrator.say('The shop reports itself degraded through its /healthz (a health check of the config): its schema is not migrated yet.');
        await opsctl(s, ['endpoints']);
      },
    },
    {
      title: 'alembic migrations, reviewed and applied as a server-owned job',
      async run(s) {
        s.narrator.say('migrate status runs `alembic history --indicate-current` and reads its lines with the regex of the config.');
        await opsctl(s, ['migrate', 'status']);
        await opsctl(s, ['migrate', 'plan']);
        s.narrator.say('up sends the reviewed plan\'s hash: if a migration had landed meanwhile, opsctl-port would answer 412 and run nothing. The job\'s log is alembic\'s own output.');
        await opsctl(s, ['migrate', 'up', '--yes', '--reason', 'demo: first deploy']);
        expectStatus(s, await publicApi(s, 'POST', '/items', { name: 'test-widget', price_cents: 250 }), 201, (b) => `item #${String(b.id)} ${String(b.name)}`);
        expectStatus(s, await publicApi(s, 'POST', '/items', { name: 'lamp', price_cents: 1900 }), 201, (b) => `item #${String(b.id)} ${String(b.name)}`);
        expectStatus(s, await publicApi(s, 'GET', '/items'), 200, itemsLine);
      },
    },
    {
      title: 'A maintenance command: each param is one argument, no shell',
      async run(s) {
        s.narrator.say('shop.purge runs `python3 maintenance.py purge --prefix {prefix}` as a job: the prefix is exactly one argv element, whatever it contains, and it holds the lock migrations take.');
        await opsctl(s, ['call', 'shop.purge', '--param', 'prefix=test-', '--yes', '--reason', 'demo: remove test data', '--follow']);
        expectStatus(s, await publicApi(s, 'GET', '/items'), 200, itemsLine);
      },
    },
    ...(o.ofrep ? [{
      title: 'Feature flags for any language: the shop reads them over OFREP',
      async run(s) {
        s.narrator.say('opsctl-port owns the flags and serves them to the shop on a second, read-only listener (OFREP, plain HTTP); an operator\'s change is served within a second.');
        await opsctl(s, ['flags', 'enable', 'maintenance_mode', '--reason', 'demo: pause writes']);
        await new Promise((r) => setTimeout(r, 1200));
        expectStatus(s, await publicApi(s, 'POST', '/items', { name: 'chair', price_cents: 4500 }), 503, (b) => String(b.error ?? ''));
        await opsctl(s, ['flags', 'disable', 'maintenance_mode', '--reason', 'demo: resume writes']);
        await new Promise((r) => setTimeout(r, 1200));
        expectStatus(s, await publicApi(s, 'POST', '/items', { name: 'chair', price_cents: 4500 }), 201, (b) => `item #${String(b.id)} ${String(b.name)}`);
      },
    } satisfies Step] : []),
    {
      title: 'The audit log: every call, with params, exit status and who asked',
      async run(s) {
        await opsctl(s, ['audit', 'tail', '-n', '8']);
        await opsctl(s, ['audit', 'verify']);
      },
    },
  ];
}
