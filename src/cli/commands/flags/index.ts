import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as list } from './list.js';
import { register as get } from './get.js';
import { register as set } from './set.js';
import { register as enable } from './enable.js';
import { register as disable } from './disable.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('flags').description('Feature flags: list, read and change them at runtime');
  list(noun, f);
  get(noun, f);
  set(noun, f);
  enable(noun, f);
  disable(noun, f);
  listsByDefault(noun, 'list');
}
