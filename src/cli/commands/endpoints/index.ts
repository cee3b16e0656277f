import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as endpoints } from './endpoints.js';

export function register(program: Command, f: Factory): void {
  endpoints(program, f);
}
