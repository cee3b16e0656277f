import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { listsByDefault } from '../../command.js';
import { register as tail } from './tail.js';
import { register as verify } from './verify.js';
import { register as proof } from './proof.js';

export function register(program: Command, f: Factory): void {
  const noun = program.command('audit').description('The service\'s hash-chained audit log: newest records, chain verification, witness checks and inclusion proofs');
  tail(noun, f);
  verify(noun, f);
  proof(noun, f);
  listsByDefault(noun, 'tail');
}
