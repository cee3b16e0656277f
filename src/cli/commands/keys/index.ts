import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as generate } from './generate.js';
import { register as importKey } from './import.js';
import { register as list } from './list.js';
import { register as show } from './show.js';
import { register as publicKey } from './public.js';
import { register as remove } from './remove.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('keys').description('Operator keys in the OS keychain: generate, import, list, show, public, remove');
  generate(noun, f);
  importKey(noun, f);
  list(noun, f);
  show(noun, f);
  publicKey(noun, f);
  remove(noun, f);
  listsByDefault(noun, 'list');
}
