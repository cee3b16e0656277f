import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { ensureReason } from '../../confirm.js';
import type { GrantView } from '../../../protocol/grants.js';
import { terminalText } from './terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('revoke')
    .description(summaryOf('grants.revoke'))
    .argument('<id>', 'grant id (opsctl grants list)')
    .addHelpText('after', endpointHelp('grants.revoke'))
    .action(async (id: string) => { await run(f, { id }); });
}

export async function run(f: Factory, opts: { id: string }): Promise<{ grant: GrantView; revoked: boolean }> {
  checkArgument(standardEndpoint('grants.revoke'), 'id', opts.id);
  await ensureReason(f, `revoking grant ${opts.id}`);
  const client = await f.client();
  const res = await client.call<{ grant: GrantView; revoked: boolean }>('grants.revoke', { id: opts.id });
  const out = await f.output();
  out.emit(res, () => {
    const who = `${terminalText(res.grant.principal)} (${terminalText(res.grant.role)})`;
    if (res.revoked) out.success(`grant ${terminalText(res.grant.id)} of ${who} revoked: its next request is judged without it`);
    else out.note(`grant ${terminalText(res.grant.id)} of ${who} had already ended (${terminalText(res.grant.state)}); nothing changed`);
  });
  return res;
}
