import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as list } from './list.js';
import { register as show } from './show.js';
import { register as approve } from './approve.js';
import { register as reject } from './reject.js';
import { register as watch } from './watch.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('approvals').description('Requests held for a second person: list, show exactly what will run, approve, reject, watch as they arrive');
  list(noun, f);
  show(noun, f);
  approve(noun, f);
  reject(noun, f);
  watch(noun, f);
  listsByDefault(noun, 'list');
}
