import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as add } from './add.js';
import { register as use } from './use.js';
import { register as list } from './list.js';
import { register as show } from './show.js';
import { register as remove } from './remove.js';
import { register as current } from './current.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('context').description('Manage contexts (targets saved in the config file)');
  list(noun, f);
  use(noun, f);
  current(noun, f);
  show(noun, f);
  add(noun, f);
  remove(noun, f);
  listsByDefault(noun, 'list');
}
