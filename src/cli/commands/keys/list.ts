import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { infoFromText } from './key-info.js';
import { rememberKeyNames } from './key-names.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description('List the keys opsctl keeps in the OS keychain')
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const { keychainList, keychainGet } = await import('../../identity/index.js');
  const names = await keychainList();
  await rememberKeyNames(f, names);
  const rows: Array<{ name: string; keyid: string; comment: string; identity: string; error: string | null }> = [];
  for (const name of names) {
    const text = await keychainGet(name);
    if (text === null) continue;
    try {
      const info = await infoFromText(name, text);
      rows.push({ name, keyid: info.keyid, comment: info.comment, identity: info.identity, error: null });
    } catch (e) {
      // One unusable entry must not hide the others.
      rows.push({ name, keyid: '', comment: '', identity: `keychain:${name}`, error: (e as Error).message });
    }
  }
  const out = await f.output();
  out.emit({ keys: rows }, () =>
    out.table(rows, [
      { key: 'name', header: 'name', fit: 'id' },
      { key: 'keyid', header: 'keyid' },
      { key: 'comment', header: 'comment', fit: 'text' },
      { key: 'error', header: 'problem', fit: 'text', format: (v) => (v ? out.colors.red(String(v)) : '') },
    ], { empty: 'no keys in the keychain; create one with: opsctl keys generate NAME' }),
  );
}
