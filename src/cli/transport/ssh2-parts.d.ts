// The files of ssh2 that load-ssh2.ts imports instead of its index; their
// types are the index's (typed by @types/ssh2), picked apart there.
declare module 'ssh2/lib/client.js';
declare module 'ssh2/lib/agent.js';
declare module 'ssh2/lib/protocol/keyParser.js';
