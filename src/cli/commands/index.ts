/** Every noun of the CLI, in the order --help lists them. */
import type { Register } from '../command.js';
import { register as health } from './health/index.js';
import { register as context } from './context/index.js';
import { register as completion } from './completion/index.js';

export const NOUNS: Register[] = [health, context, completion];
