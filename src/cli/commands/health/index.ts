import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as health } from './health.js';

export function register(program: Command, f: Factory): void {
  health(program, f);
}
