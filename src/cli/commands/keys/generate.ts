import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { rememberKeyNames } from './key-names.js';
import { completeWith } from '../../completion/hints.js';
import { UsageError } from '../../errors/usage-error.js';
import { allowlistHint, checkedName } from './key-info.js';

export interface KeysGenerateOptions {
  name: string;
  comment?: string;
  force: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('generate')
    .description('Generate an Ed25519 key straight into the OS keychain and print its public key')
    .addArgument(completeWith(new Argument('<name>', 'key name (use it as --identity keychain:NAME)'), 'keys'))
    .option('--comment <text>', 'key comment: the principal name the service logs (default: NAME)')
    .option('--force', 'replace an existing key of that name', false)
    .addHelpText('after', '\nThe private key never leaves the keychain: it is not printed, logged or written to a file.')
    .action(async (name: string, o: { comment?: string; force?: boolean }) =>
      run(f, { name, force: Boolean(o.force), ...(o.comment !== undefined ? { comment: o.comment } : {}) }),
    );
}

export async function run(f: Factory, opts: KeysGenerateOptions): Promise<void> {
  const name = await checkedName(opts.name);
  const comment = opts.comment ?? name;
  if (/[\r\n]/.test(comment)) throw new UsageError('--comment must be one line');
  const { keychainGet, keychainSet, generateEd25519 } = await import('../../identity/index.js');
  if (!opts.force && (await keychainGet(name)) !== null) throw new UsageError(`a key named "${name}" already exists; pass --force to replace it (the old key is lost)`);
  const key = generateEd25519(comment);
  await keychainSet(name, key.privateKeyText);
  await rememberKeyNames(f);
  const out = await f.output();
  out.emit({ name, identity: `keychain:${name}`, keyid: key.keyid, publicKey: key.publicKeyLine }, () => {
    out.line(key.publicKeyLine);
    out.success(`generated key "${name}" (${key.keyid}) in the keychain; use it with --identity keychain:${name}`);
    out.note(allowlistHint(key.publicKeyLine));
  });
}
