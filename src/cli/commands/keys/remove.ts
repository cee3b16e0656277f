import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { rememberKeyNames } from './key-names.js';
import { completeWith } from '../../completion/hints.js';
import { confirmLocal } from '../../confirm.js';
import { UsageError } from '../../errors/usage-error.js';
import { checkedName, keyInfo } from './key-info.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('remove')
    .alias('rm')
    .description('Delete a key from the OS keychain (asks first; --yes to skip)')
    .addArgument(completeWith(new Argument('<name>', 'key name'), 'keys'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  const name = await checkedName(opts.name);
  const { keychainDelete } = await import('../../identity/index.js');
  // Show which key is about to go: there is no undo.
  const info = await keyInfo(name);
  const out = await f.output();
  out.note(`key "${name}": ${info.keyid} ${info.comment}`);
  await confirmLocal(f, `delete key "${name}" from the keychain (no undo)`);
  if (!(await keychainDelete(name))) throw new UsageError(`no key named "${name}" in the keychain`);
  await rememberKeyNames(f);
  out.emit({ removed: name, keyid: info.keyid }, () => out.success(`key "${name}" removed from the keychain`));
}
