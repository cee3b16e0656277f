import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as status } from './status.js';
import { register as test } from './test.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('notify').description('Event notifications of the service (signed webhooks, Slack): where they go, and a test event');
  status(noun, f);
  test(noun, f);
  listsByDefault(noun, 'status');
}
