import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as metrics } from './metrics.js';

export function register(program: Command, f: Factory): void {
  metrics(program, f);
}
