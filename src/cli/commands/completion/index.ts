import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as completion } from './completion.js';

export function register(program: Command, f: Factory): void {
  completion(program, f);
}
