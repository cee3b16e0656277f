/**
 * `opsctl init`: the guided first setup (README "Install and first setup"). Each step
 * reuses the command that does it alone — keys generate / keys import's
 * keychain code, context add, doctor — so init adds no second way to do any
 * of them. With --yes nothing is asked and every needed value must come
 * from a flag (a missing one is a usage error naming it, exit 2).
 */
import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { run as contextAdd } from '../context/add.js';
import { run as doctor } from '../doctor/doctor.js';
import { checkedName } from '../keys/key-info.js';
import { rememberKeyNames } from '../keys/key-names.js';
import { DEFAULT_INTERNAL_PORT } from '../../config/resolve-context.js';

export interface InitOptions {
  /** keychain:NAME | agent | FILE; absent: a new keychain key named keyName. */
  identity?: string;
  keyName: string;
  role: 'viewer' | 'operator' | 'admin';
  contextName?: string;
  bastion?: string;
  host?: string;
  port?: number;
  knownHosts?: string;
  protected?: boolean;
  requireReason?: boolean;
  yes: boolean;
  force: boolean;
  doctor: boolean;
}

const ROLES = ['viewer', 'operator', 'admin'] as const;
/** Names that look like production get the guard rails offered (docs: README "Contexts"). */
const PROD_LIKE = /(^|[-_.])(prod|production|live|prd)($|[-_.])/i;

export function register(program: Command, f: Factory): void {
  program
    .command('init')
    .description('Guided first setup: key, allowlist line, context, host keys, doctor')
    .option('--key-name <name>', 'keychain name of the key to generate when no --identity is given', 'opsctl')
    .option('--role <role>', 'role for the allowlist line: viewer | operator | admin', 'operator')
    .option('--context-name <name>', 'name of the context to add')
    .option('--protected', 'destructive actions need the context name typed (offered for prod-like names)')
    .option('--require-reason', 'mutating commands need --reason (offered for prod-like names)')
    .option('--force', 'replace an existing key or context of that name', false)
    .option('--no-doctor', 'do not connect and run doctor at the end')
    .addHelpText(
      'after',
      `
Steps, each also settable by a flag (the connection flags are the global
--identity, --bastion, --host, --port and --known-hosts):
  1 key        --identity keychain:NAME | agent | FILE, or a new Ed25519 key
               generated into the keychain as --key-name (default opsctl)
  2 allowlist  prints the line the service admin adds, with --role
  3 context    --context-name, --bastion, --host, --port; --protected and
               --require-reason are offered for names like prod or live
  4 host keys  doctor connects hop by hop; an unknown host key is shown and
               asked about on a terminal (or checked against --known-hosts)
  5 doctor     the full check (skip it with --no-doctor)
With --yes nothing is asked: a missing --context-name or --host is a usage
error (exit 2) naming it.`,
    )
    .action(async (o: Record<string, unknown>) => {
      const g = f.globals();
      const role = String(o.role);
      if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be viewer, operator or admin, got "${role}"`);
      await run(f, {
        keyName: String(o.keyName),
        role: role as InitOptions['role'],
        yes: g.yes,
        force: Boolean(o.force),
        doctor: o.doctor !== false,
        ...(g.identity !== undefined ? { identity: g.identity } : {}),
        ...(typeof o.contextName === 'string' ? { contextName: o.contextName } : {}),
        ...(g.bastion !== undefined ? { bastion: g.bastion } : {}),
        ...(g.host !== undefined ? { host: g.host } : {}),
        ...(g.port !== undefined ? { port: g.port } : {}),
        ...(g.knownHosts !== undefined ? { knownHosts: g.knownHosts } : {}),
        ...(o.protected !== undefined ? { protected: Boolean(o.protected) } : {}),
        ...(o.requireReason !== undefined ? { requireReason: Boolean(o.requireReason) } : {}),
      });
    });
}

/** The key step: returns the identity spec to save and its public key line (none for agent). */
async function chooseKey(f: Factory, opts: InitOptions): Promise<{ identity: string; publicKey?: string }> {
  const id = await import('../../identity/index.js');
  if (opts.identity === 'agent' || opts.identity?.startsWith('agent:')) return { identity: opts.identity };
  if (opts.identity?.startsWith('keychain:')) {
    const { keyInfo } = await import('../keys/key-info.js');
    const info = await keyInfo(await checkedName(opts.identity.slice('keychain:'.length)));
    return { identity: opts.identity, publicKey: info.publicKey };
  }
  if (opts.identity) {
    const file = id.expandHome(opts.identity, f.io.env);
    const key = await id.readKeyFile(file).catch(async (e: unknown) => {
      if (!(e instanceof id.IdentityError) || e.code !== 'passphrase-required') throw e;
      return id.readKeyFile(file, await f.prompter().password(`Passphrase for ${file}:`));
    });
    return { identity: opts.identity, publicKey: key.publicKeyLine };
  }
  // Keychain first: reuse a key of that name, else generate one (keys generate).
  const name = await checkedName(opts.keyName);
  const existing = await id.keychainGet(name);
  if (existing !== null && !opts.force) {
    const { infoFromText } = await import('../keys/key-info.js');
    return { identity: `keychain:${name}`, publicKey: (await infoFromText(name, existing)).publicKey };
  }
  const key = id.generateEd25519(name);
  await id.keychainSet(name, key.privateKeyText);
  await rememberKeyNames(f);
  (await f.output()).success(`generated key "${name}" (${key.keyid}) in the keychain`);
  return { identity: `keychain:${name}`, publicKey: key.publicKeyLine };
}

/** A flag's value, or the operator's answer on a terminal; with --yes a missing one is exit 2. */
async function need(f: Factory, opts: InitOptions, flag: string, value: string | undefined, question: string, fallback?: string): Promise<string> {
  if (value) return value;
  if (opts.yes || !f.prompter().interactive) throw new UsageError(`init needs ${flag} when it cannot ask (--yes or no terminal)`);
  const answer = (await f.prompter().input(question, fallback)).trim();
  if (!answer) throw new UsageError(`init needs ${flag}`);
  return answer;
}

export async function run(f: Factory, opts: InitOptions): Promise<void> {
  // Check every flag before anything is generated or written.
  const contextName = await need(f, opts, '--context-name', opts.contextName, 'Context name:', 'default');
  const host = await need(f, opts, '--host', opts.host, 'Service host [user@]host[:port]:');
  const out = await f.output();

  const key = await chooseKey(f, opts);
  if (key.publicKey) {
    out.line(`role="${opts.role}" ${key.publicKey}`);
    out.note(`Ask the service admin to add the line above to the service's allowlist (authorized_keys).`);
  } else {
    out.note(`The agent's key is used: add role="${opts.role}" before its public key (ssh-add -L) in the service's allowlist.`);
  }

  let bastion = opts.bastion;
  if (bastion === undefined && !opts.yes && f.prompter().interactive) bastion = (await f.prompter().input('Bastion chain (empty for none):', '')).trim() || undefined;
  let port = opts.port;
  if (port === undefined && !opts.yes && f.prompter().interactive) {
    const raw = (await f.prompter().input("Internal port on the service host's loopback:", String(DEFAULT_INTERNAL_PORT))).trim();
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new UsageError(`the internal port must be a number 1-65535, got "${raw}" (or pass --port)`);
    // The default is left out of the config, as context add does without --port.
    if (n !== DEFAULT_INTERNAL_PORT) port = n;
  }
  let isProtected = opts.protected ?? false;
  let requireReason = opts.requireReason ?? false;
  if (PROD_LIKE.test(contextName) && !opts.yes && f.prompter().interactive) {
    if (opts.protected === undefined) isProtected = await f.prompter().confirm(`"${contextName}" looks like production: make destructive actions need its name typed (--protected)?`, true);
    if (opts.requireReason === undefined) requireReason = await f.prompter().confirm('Make mutating commands need --reason (--require-reason)?', true);
  }
  await contextAdd(f, {
    name: contextName,
    host,
    identity: key.identity,
    protected: isProtected,
    requireReason,
    use: true,
    force: opts.force,
    ...(bastion ? { bastion } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(opts.knownHosts ? { knownHosts: opts.knownHosts } : {}),
  });
  if (PROD_LIKE.test(contextName) && !isProtected) out.note(`"${contextName}" looks like production; consider opsctl context add ${contextName} --force --protected --require-reason`);

  // Host keys and the route: doctor connects hop by hop, asking about an
  // unknown host key through the transport's own prompt.
  if (opts.doctor) await doctor(f);
}
