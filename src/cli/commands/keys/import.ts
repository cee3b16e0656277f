import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { rememberKeyNames } from './key-names.js';
import { completeWith } from '../../completion/hints.js';
import { UsageError } from '../../errors/usage-error.js';
import { allowlistHint, checkedName } from './key-info.js';

export interface KeysImportOptions {
  name: string;
  file: string;
  force: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('import')
    .description('Import an OpenSSH Ed25519 private key file into the OS keychain')
    .addArgument(completeWith(new Argument('<name>', 'key name (use it as --identity keychain:NAME)'), 'keys'))
    .addArgument(completeWith(new Argument('<file>', 'OpenSSH private key file'), 'files'))
    .option('--force', 'replace an existing key of that name', false)
    .addHelpText('after', '\nAn encrypted key asks for its passphrase (on a terminal) and is stored decrypted: the keychain protects it from then on.')
    .action(async (name: string, file: string, o: { force?: boolean }) => run(f, { name, file, force: Boolean(o.force) }));
}

export async function run(f: Factory, opts: KeysImportOptions): Promise<void> {
  const name = await checkedName(opts.name);
  const { keychainGet, keychainSet, readKeyFile, expandHome, IdentityError } = await import('../../identity/index.js');
  const file = expandHome(opts.file, f.io.env);
  if (!opts.force && (await keychainGet(name)) !== null) throw new UsageError(`a key named "${name}" already exists; pass --force to replace it`);
  let key;
  let decrypted = false;
  try {
    key = await readKeyFile(file);
  } catch (e) {
    if (!(e instanceof IdentityError) || e.code !== 'passphrase-required') throw e;
    const prompter = f.prompter();
    if (!prompter.interactive) throw new UsageError(`${file} is encrypted and there is no terminal to ask for its passphrase; decrypt a copy (ssh-keygen -p) or run on a terminal`);
    key = await readKeyFile(file, await prompter.password(`Passphrase for ${file}:`));
    decrypted = true;
  }
  await keychainSet(name, key.privateKeyText);
  await rememberKeyNames(f);
  const out = await f.output();
  out.emit({ name, identity: `keychain:${name}`, keyid: key.keyid, publicKey: key.publicKeyLine, decrypted }, () => {
    out.line(key.publicKeyLine);
    out.success(`imported ${file} as "${name}" (${key.keyid}); use it with --identity keychain:${name}`);
    if (decrypted) out.note('The key was stored decrypted: the keychain protects it now. The file is unchanged.');
    out.note(allowlistHint(key.publicKeyLine));
  });
}
