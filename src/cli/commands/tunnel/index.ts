import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as tunnel } from './tunnel.js';

export function register(program: Command, f: Factory): void {
  tunnel(program, f);
}
