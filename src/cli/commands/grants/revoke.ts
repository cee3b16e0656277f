import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { ensureReason } from '../../confirm.js';
import type { GrantRevokeAnswer } from '../../../protocol/grants.js';
import { terminalText } from './terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('revoke')
    .description(summaryOf('grants.revoke'))
    .argument('<id>', 'grant id (opsctl grants list)')
    .addHelpText('after', endpointHelp('grants.revoke'))
    .action(async (id: string) => { await run(f, { id }); });
}

export async function run(f: Factory, opts: { id: string }): Promise<GrantRevokeAnswer> {
  checkArgument(standardEndpoint('grants.revoke'), 'id', opts.id);
  await ensureReason(f, `revoking grant ${opts.id}`);
  const client = await f.client();
  const res = await client.call<GrantRevokeAnswer>('grants.revoke', { id: opts.id });
  const out = await f.output();
  out.emit(res, () => {
    const who = `${terminalText(res.grant.principal)} (${terminalText(res.grant.role)})`;
    if (res.revoked) out.success(`grant ${terminalText(res.grant.id)} of ${who} revoked: its next request is judged without it`);
    else out.note(`grant ${terminalText(res.grant.id)} of ${who} had already ended (${terminalText(res.grant.state)}); nothing changed`);
    // Whatever was granted under it ends with it (src/server/README.md, "Grants").
    const ended = res.ended ?? [];
    if (ended.length) out.note(`${ended.length} grant(s) made under it ended too: ${ended.map((g) => `${terminalText(g.id)} (${terminalText(g.principal)}, ${terminalText(g.role)})`).join(', ')}`);
  });
  return res;
}
