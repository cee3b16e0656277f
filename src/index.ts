/**
 * opsctl as a library: the shared protocol and the server module. The same
 * exports are available separately as `opsctl/protocol` (no server
 * dependencies) and `opsctl/server`.
 */
export * from './protocol/index.js';
export { createInternalPort, FileFlagStore, InternalPortConfigError } from './server/index.js';
export type * from './server/options.js';
