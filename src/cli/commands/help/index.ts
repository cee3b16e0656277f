import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as help } from './help.js';

export function register(program: Command, f: Factory): void {
  help(program, f);
}
