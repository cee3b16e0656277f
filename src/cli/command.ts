/**
 * Helpers every command file uses. A command file exports `register(parent, f)`,
 * which declares the commander command, and a separately testable `run(f, opts)`.
 */
import type { Command } from 'commander';
import { STANDARD_ENDPOINTS } from '../protocol/catalog.js';
import type { Factory } from './factory.js';

export type Register = (parent: Command, f: Factory) => void;

/** The summary of a standard endpoint, so help text comes from the catalog definitions. */
export function summaryOf(endpointId: string): string {
  const ep = STANDARD_ENDPOINTS.find((e) => e.id === endpointId);
  if (!ep) throw new Error(`no standard endpoint ${endpointId}`);
  return ep.summary;
}

/** Help text footer naming the endpoint, role and destructiveness. */
export function endpointHelp(endpointId: string): string {
  const ep = STANDARD_ENDPOINTS.find((e) => e.id === endpointId)!;
  return `\nEndpoint: ${ep.id} (${ep.method} ${ep.path}), role ${ep.role}${ep.destructive ? ', destructive: asks first (--yes to skip)' : ''}.\n${ep.description}`;
}
