import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as list } from './list.js';
import { register as run } from './run.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('tasks').description('Maintenance tasks: list them, run one as a job');
  list(noun, f);
  run(noun, f);
  listsByDefault(noun, 'list');
}
