import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as add } from './add.js';
import { register as list } from './list.js';
import { register as revoke } from './revoke.js';
import { register as request } from './request.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('grants').description('Short-lived access: give a key a role for a while, list, revoke, or ask for one');
  add(noun, f);
  list(noun, f);
  revoke(noun, f);
  request(noun, f);
  listsByDefault(noun, 'list');
}
