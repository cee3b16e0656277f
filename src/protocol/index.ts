/** opsctl/protocol — what the CLI and the server module share. Imports neither ssh2 nor got. */
export * from './catalog.js';
export * from './signature.js';
export * from './content-digest.js';
export * from './fingerprint.js';
export * from './problems.js';
export * from './problem-error.js';
export * from './exit-codes.js';
export * from './headers.js';
export * from './flag-view.js';
export * from './approvals.js';
export * from './canonical-json.js';
export * from './merkle.js';
export * from './audit.js';
export * from './whoami.js';
export * from './grants.js';
