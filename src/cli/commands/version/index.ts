import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as version } from './version.js';

export function register(program: Command, f: Factory): void {
  version(program, f);
}
