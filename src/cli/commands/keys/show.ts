import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { completeWith } from '../../completion/hints.js';
import { checkedName, keyInfo } from './key-info.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('show')
    .description('Show a key\'s fingerprint (keyid), comment and public key')
    .addArgument(completeWith(new Argument('<name>', 'key name'), 'keys'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  const info = await keyInfo(await checkedName(opts.name));
  const out = await f.output();
  out.emit(info, () =>
    out.fields([
      ['name', info.name],
      ['identity', info.identity],
      ['keyid', info.keyid],
      ['type', info.type],
      ['comment', info.comment],
      ['public key', info.publicKey],
    ]),
  );
}
