/**
 * The per-host child of the one Factory: while a command runs for one host
 * of a fleet, the factory's globals, output, tunnel and client come from
 * here, and everything else (config, context, identity, prompter, the SSH
 * chain to the bastion) stays shared. Commands keep calling f.client() and
 * f.output() and never learn that several hosts exist.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { GlobalOptions } from '../globals.js';
import type { Output } from '../output/output.js';
import type { Tunnel } from '../transport/types.js';
import type { Client } from '../client/client.js';

export interface TargetScope {
  host: string;
  globals: GlobalOptions;
  output: Output;
  tunnel(): Promise<Tunnel>;
  client(): Promise<Client>;
}

const storage = new AsyncLocalStorage<TargetScope>();

/** The host a command currently runs for, when it runs as part of a fleet. */
export function currentTarget(): TargetScope | undefined {
  return storage.getStore();
}

export function runForTarget<T>(scope: TargetScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}
