import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as call } from './call.js';

export function register(program: Command, f: Factory): void {
  call(program, f);
}
