import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as tail } from './tail.js';
import { register as verify } from './verify.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('audit').description('The service\'s hash-chained audit log: newest records, chain verification');
  tail(noun, f);
  verify(noun, f);
}
