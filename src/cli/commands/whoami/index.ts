import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as whoami } from './whoami.js';

export function register(program: Command, f: Factory): void {
  whoami(program, f);
}
