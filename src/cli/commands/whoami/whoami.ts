import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { summaryOf, endpointHelp } from '../../command.js';
import type { WhoamiResponse } from '../../../protocol/whoami.js';
import { relativeTime } from '../grants/duration.js';
import { terminalText } from '../grants/terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('whoami')
    .description(summaryOf('whoami'))
    .addHelpText('after', `${endpointHelp('whoami')}\nThe role shown is the one the server applies to this key; -o json prints {principal, role, keyid, serverTime, service}.`)
    .action(async () => {
      await run(f);
    });
}

/** Asks the server who the signing key is, and prints its answer. */
export async function run(f: Factory): Promise<WhoamiResponse> {
  const client = await f.client();
  const me = await client.call<WhoamiResponse>('whoami');
  const out = await f.output();
  out.emit(me, () => {
    out.fields([
      ['principal', me.principal],
      ['role', out.colors.bold(me.role)],
      ['key id', me.keyid],
      ['service', me.service],
      ['server time', me.serverTime],
      // The grant the role comes from, and when it ends: the role is not this key's for good.
      ...(me.grant ? [['grant', `${me.grant.id} (${me.grant.role}, expires ${relativeTime(me.grant.expiresAt)}, granted by ${terminalText(me.grant.grantedBy)})`] as [string, unknown]] : []),
      // A key on no allowlist is nobody of its own: approvals count it as its granter.
      ...(me.actsFor ? [['acts for', `${terminalText(me.actsFor)} (approvals count this key as them)`] as [string, unknown]] : []),
    ]);
  });
  return me;
}
