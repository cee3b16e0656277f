import fs from 'node:fs';
import { Argument, Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { UsageError } from '../../errors/usage-error.js';
import { ROLES, type Role } from '../../../protocol/catalog.js';
import type { GrantView } from '../../../protocol/grants.js';
import { parseDuration } from './duration.js';
import { showGrant } from './grant-columns.js';

export interface AddOptions {
  key: string;
  role: Role;
  for: string;
  name?: string;
  sshLine?: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('add')
    .description(summaryOf('grants.create'))
    .addArgument(completeWith(new Argument('<key>', 'the public key: a .pub file (KEYFILE) or the line itself (PUBKEY, "ssh-ed25519 AAAA… comment")'), 'files'))
    .addOption(new Option('--role <role>', 'role the key gets').choices([...ROLES]).makeOptionMandatory())
    .addOption(new Option('--for <duration>', 'how long: 90s, 15m, 2h, 1h30m').makeOptionMandatory())
    .option('--name <name>', 'who the key belongs to (default: the key comment)')
    .option('--ssh-line', 'also print an authorized_keys line for the bastion and host that expires with the grant (OpenSSH expiry-time)')
    .addHelpText('after', `${endpointHelp('grants.create')}\n--reason is required: it is kept with the grant. Example:\n  opsctl grants add ~/bob.pub --role operator --for 2h --reason "INC-42 on call"`)
    .action(async (key: string, o: { role: Role; for: string; name?: string; sshLine?: boolean }) => { await run(f, { key, ...o }); });
}

/** The public key line from a .pub file or from the argument itself. */
export function readPublicKey(arg: string): string {
  const inline = arg.trim();
  if (/^ssh-[a-z0-9-]+\s+[A-Za-z0-9+/=]+/.test(inline)) return inline;
  let text: string;
  try {
    text = fs.readFileSync(arg, 'utf8');
  } catch (e) {
    throw new UsageError(`${arg} is neither a public key line ("ssh-ed25519 AAAA…") nor a readable file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (/PRIVATE KEY/.test(text)) throw new UsageError(`${arg} is a private key; give the public key (${arg}.pub)`);
  const line = text.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
  if (!line || !/^ssh-[a-z0-9-]+\s+[A-Za-z0-9+/=]+/.test(line)) throw new UsageError(`${arg} holds no OpenSSH public key line`);
  return line;
}

/** `expiry-time="YYYYMMDDHHMMSSZ" ssh-ed25519 AAAA…`: OpenSSH (8.2+) refuses the key from that second on. */
export function expiringAuthorizedKeysLine(publicKey: string, expiresAt: string): string {
  const stamp = new Date(expiresAt).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  return `expiry-time="${stamp}" ${publicKey.trim().split(/\s+/).slice(0, 2).join(' ')}`;
}

export async function run(f: Factory, opts: AddOptions): Promise<GrantView> {
  const ttlSeconds = parseDuration(opts.for);
  const reason = f.globals().reason;
  if (!reason) throw new UsageError('grants add needs --reason TEXT: it is kept with the grant and in the audit log');
  const publicKey = readPublicKey(opts.key);
  const client = await f.client();
  const res = await client.call<{ grant: GrantView }>('grants.create', {
    publicKey,
    role: opts.role,
    ttlSeconds,
    reason,
    ...(opts.name ? { principal: opts.name } : {}),
  });
  const sshLine = opts.sshLine ? expiringAuthorizedKeysLine(publicKey, res.grant.expiresAt) : undefined;
  const out = await f.output();
  out.emit(sshLine ? { ...res, sshAuthorizedKeysLine: sshLine } : res, () => {
    out.success(`granted ${res.grant.role} to ${res.grant.principal}`);
    showGrant(out, res.grant);
    if (sshLine) {
      out.line();
      out.line('For the SSH hops, add this line to authorized_keys on the bastion and the host (OpenSSH refuses it from the same second):');
      out.line(sshLine);
    }
    out.note(`Revoke it early with: opsctl grants revoke ${res.grant.id}`);
  });
  return res.grant;
}
