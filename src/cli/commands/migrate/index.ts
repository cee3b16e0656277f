import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as status } from './status.js';
import { register as plan } from './plan.js';
import { register as up } from './up.js';
import { register as down } from './down.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('migrate').description('Database migrations: status, plan, apply (up) and revert (down)');
  status(noun, f);
  plan(noun, f);
  up(noun, f);
  down(noun, f);
  listsByDefault(noun, 'status');
}
