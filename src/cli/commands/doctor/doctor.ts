import { Option, type Command } from 'commander';
import { UsageError } from '../../errors/usage-error.js';
import type { Factory } from '../../factory.js';
import type { Tunnel, TunnelTarget } from '../../transport/types.js';
import { reportError } from '../../errors/exit-code.js';
import { OperationError } from '../../errors/operation-error.js';
import { ExitCode } from '../../../protocol/exit-codes.js';
import { rememberCatalog } from '../../service-commands/remember-catalog.js';
import type { Identity } from '../../identity/types.js';
import { CheckList, type CheckResult } from './check-list.js';
import { fixFor } from './fixes.js';
import { checkClockSkew, checkConfig, checkIdentity, checkInternalPort, checkProtocol, checkRole, hopAddress, openRoute, SKEW_FAIL_SECONDS, SKEW_WARN_SECONDS } from './checks.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('doctor')
    .description('Check every hop of the current context: config, key, SSH hops, internal port, protocol, clock')
    .addHelpText(
      'after',
      `
Walks the route a command takes, in order, and stops at the first failure:
  config         the config file and the context (or the connection flags)
  identity       the key loads (keychain, agent or 0600 file) and signs
  bastion, host  each SSH hop with its handshake time (always a fresh
                 connection, never a reused opsctl tunnel)
  internal port  a signed GET /v1/health through the tunnel
  role           who the service thinks the key is (GET /v1/whoami)
  protocol       the catalog speaks protocol 1
  clock skew     against the server: warns above ${SKEW_WARN_SECONDS} s, fails above ${SKEW_FAIL_SECONDS} s
                 (signatures are valid for ±${SKEW_FAIL_SECONDS} s)
An unknown host key is asked about on a terminal, as every command does;
without one, --accept-host-key SHA256:… records the key with that
fingerprint (checked out of band) in opsctl's known_hosts.
A failure is printed once, with the command that fixes it.
Exit status: 0 when all passed (warnings allowed), else the failing check's:
2 config, 1 identity, 5 SSH hop or internal port, 3 key refused by the
service, 1 protocol or clock.`,
    )
    .addOption(new Option('--accept-host-key <fingerprint>', 'trust an unknown host key with this SHA256 fingerprint, checked out of band (repeatable)').argParser(collectFingerprint))
    .action(async (o: { acceptHostKey?: string[] }) => run(f, { acceptHostKeys: o.acceptHostKey ?? [] }));
}

/** `SHA256:` and 43 base64 characters, as ssh-keygen -lf and opsctl print a fingerprint. */
function collectFingerprint(v: string, prev: string[] | undefined): string[] {
  if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(v)) throw new UsageError(`--accept-host-key takes a fingerprint such as SHA256:${'x'.repeat(43)} (as ssh-keygen -lf prints it), got "${v}"`);
  return [...(prev ?? []), v];
}

/** What the fix of a failure may need to know. */
interface Known {
  target?: TunnelTarget;
  identity?: Identity;
}

function failed(list: CheckList, result: Omit<CheckResult, 'status'>, err: unknown, known: Known = {}, extra = ''): { result: CheckResult; exitCode: number } {
  const report = reportError(err);
  const fix = fixFor(err, known);
  const r = list.add({ ...result, status: 'fail', detail: `${report.message || String(err)}${extra}`, ...(fix ? { fix } : {}) });
  return { result: r, exitCode: report.exitCode };
}

type Failure = { result: CheckResult; exitCode: number };

async function walk(f: Factory, list: CheckList, keep: (t: Tunnel) => void, acceptHostKeys: string[]): Promise<Failure | undefined> {
  try {
    list.add((await checkConfig(f)).result);
  } catch (e) {
    return failed(list, { check: 'config', label: 'config', detail: '' }, e);
  }

  let identity;
  try {
    const r = await checkIdentity(f);
    identity = r.identity;
    list.add(r.result);
  } catch (e) {
    return failed(list, { check: 'identity', label: 'identity', detail: '' }, e);
  }

  let target: TunnelTarget;
  try {
    target = await f.target();
  } catch (e) {
    return failed(list, { check: 'config', label: 'ssh config', detail: '' }, e, { identity });
  }
  const known: Known = { target, identity };

  let tunnel: Tunnel;
  try {
    const route = await openRoute(f, target, identity, acceptHostKeys);
    tunnel = route.tunnel;
    keep(tunnel);
    for (const r of route.results) list.add(r);
  } catch (e) {
    // Blame the hop the transport names; the ones before it were reached.
    const err = e as { hop?: string; kind?: string; hopKind?: string };
    const kind = err.hopKind ?? err.kind ?? 'host';
    const hops = [...target.bastions.map((h) => ({ kind: 'bastion', hop: h })), { kind: 'host', hop: target.host }];
    const at = hops.findIndex((h) => h.kind === kind && h.hop.name === err.hop);
    for (const h of hops.slice(0, Math.max(at, 0))) list.add({ check: h.kind, label: `${h.kind} ${h.hop.name}`, status: 'ok', detail: `${hopAddress(h.hop)} reached` });
    const bad = hops[at] ?? hops[hops.length - 1]!;
    const r = failed(list, { check: bad.kind, label: `${bad.kind} ${bad.hop.name}`, detail: '' }, e, known);
    if (at >= 0) for (const h of hops.slice(at + 1)) list.add({ check: h.kind, label: `${h.kind} ${h.hop.name}`, status: 'skipped', detail: 'not reached' });
    return r;
  }

  const { Client } = await import('../../client/client.js');
  const client = new Client(tunnel, identity);
  const portLabel = `internal port ${target.internalHost ?? '127.0.0.1'}:${target.internalPort}`;
  let port;
  try {
    const found = await checkInternalPort(client, target);
    if (found.refused) {
      const code = found.problem.code ?? '';
      const skew = found.dateSkewMs !== undefined ? ` (the server's clock differs from this one by about ${Math.round(found.dateSkewMs / 1000)} s)` : '';
      const why = code === 'auth.expired' ? `the signature was refused as expired: the clocks disagree by more than ${SKEW_FAIL_SECONDS} s${skew}` : '';
      return failed(list, { check: 'internal-port', label: portLabel, detail: '' }, found.problem, known, why ? `; ${why}` : '');
    }
    port = found;
    list.add(found.result);
  } catch (e) {
    return failed(list, { check: 'internal-port', label: portLabel, detail: '' }, e, known);
  }

  try {
    list.add(await checkRole(client));
  } catch (e) {
    return failed(list, { check: 'role', label: 'role', detail: '' }, e, known);
  }

  try {
    const { result, catalog } = await checkProtocol(client);
    list.add(result);
    await rememberCatalog(f, catalog);
    if (result.status === 'fail') return { result, exitCode: ExitCode.FAILED };
  } catch (e) {
    return failed(list, { check: 'protocol', label: 'protocol', detail: '' }, e);
  }

  const skew = list.add(checkClockSkew(port));
  if (skew.status === 'fail') return { result: skew, exitCode: ExitCode.FAILED };
  return undefined;
}

const ORDER: Array<[string, string]> = [
  ['config', 'config'],
  ['identity', 'identity'],
  ['host', 'ssh hops'],
  ['internal-port', 'internal port'],
  ['role', 'role'],
  ['protocol', 'protocol'],
  ['clock-skew', 'clock skew'],
];

export async function run(f: Factory, opts: { acceptHostKeys?: string[] } = {}): Promise<void> {
  const out = await f.output();
  const list = new CheckList(out);
  let tunnel: Tunnel | undefined;
  let failure: Failure | undefined;
  try {
    failure = await walk(f, list, (t) => (tunnel = t), opts.acceptHostKeys ?? []);
  } finally {
    await (tunnel as Tunnel | undefined)?.close().catch(() => undefined);
  }
  if (failure) {
    // Name what was not checked, so a reader sees where the walk stopped.
    const done = new Set(list.results.map((r) => (r.check === 'bastion' ? 'host' : r.check)));
    const from = ORDER.findIndex(([id]) => id === (failure!.result.check === 'bastion' ? 'host' : failure!.result.check));
    for (const [id, label] of ORDER.slice(from + 1)) if (!done.has(id)) list.add({ check: id, label, status: 'skipped', detail: 'not checked' });
  }
  let context: string | null = null;
  try {
    context = (await f.context()).name ?? null;
  } catch {
    context = null;
  }
  if (out.json) {
    out.printJson({
      ok: !failure,
      context,
      checks: list.results,
      failed: failure
        ? { check: failure.result.check, label: failure.result.label, detail: failure.result.detail, exitCode: failure.exitCode, ...(failure.result.fix ? { fix: failure.result.fix } : {}) }
        : null,
    });
  }
  // The failure's detail and fix were printed once, in the list (or the JSON
  // document); the error line only names it, for the exit code.
  if (failure) {
    throw new OperationError(out.json ? `doctor: ${failure.result.label} failed: ${failure.result.detail}` : `doctor: ${failure.result.label} failed (see above)`, failure.exitCode);
  }
  if (!out.json) out.success(list.results.some((r) => r.status === 'warn') ? 'every hop works (with warnings above)' : 'every hop works');
}
