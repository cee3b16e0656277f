import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as list } from './list.js';
import { register as status } from './status.js';
import { register as logs } from './logs.js';
import { register as cancel } from './cancel.js';
import { register as wait } from './wait.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('jobs').description('Server-owned jobs: list, status, logs (re-attach), wait, cancel');
  list(noun, f);
  status(noun, f);
  logs(noun, f);
  wait(noun, f);
  cancel(noun, f);
  listsByDefault(noun, 'list');
}
