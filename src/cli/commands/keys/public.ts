import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { completeWith } from '../../completion/hints.js';
import { checkedName, keyInfo } from './key-info.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('public')
    .description('Print a key\'s public key line (for the service\'s allowlist)')
    .addArgument(completeWith(new Argument('<name>', 'key name'), 'keys'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  const info = await keyInfo(await checkedName(opts.name));
  const out = await f.output();
  out.emit({ name: info.name, keyid: info.keyid, publicKey: info.publicKey }, () => out.line(info.publicKey));
}
