import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { register as doctor } from './doctor.js';

export function register(program: Command, f: Factory): void {
  doctor(program, f);
}
