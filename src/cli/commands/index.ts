/** Every noun of the CLI, in the order --help lists them. */
import type { Register } from '../command.js';
import { register as health } from './health/index.js';
import { register as context } from './context/index.js';
import { register as endpoints } from './endpoints/index.js';
import { register as call } from './call/index.js';
import { register as migrate } from './migrate/index.js';
import { register as flags } from './flags/index.js';
import { register as metrics } from './metrics/index.js';
import { register as tasks } from './tasks/index.js';
import { register as jobs } from './jobs/index.js';
import { register as audit } from './audit/index.js';
import { register as grants } from './grants/index.js';
import { register as approvals } from './approvals/index.js';
import { register as notify } from './notify/index.js';
import { register as keys } from './keys/index.js';
import { register as tunnel } from './tunnel/index.js';
import { register as completion } from './completion/index.js';
import { register as doctor } from './doctor/index.js';
import { register as init } from './init/index.js';
import { register as whoami } from './whoami/index.js';
import { register as version } from './version/index.js';
import { register as help } from './help/index.js';

export const NOUNS: Register[] = [init, health, whoami, endpoints, call, doctor, migrate, flags, metrics, tasks, jobs, approvals, audit, grants, notify, keys, context, tunnel, completion, version, help];
