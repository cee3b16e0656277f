import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as init } from './init.js';

export function register(program: Command, f: Factory): void {
  init(program, f);
}
