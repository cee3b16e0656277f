import type { Command } from 'commander';

const ENDPOINT = Symbol.for('opsctl.serviceEndpoint');

/** Marks a service command with the endpoint it stands for (the fleet code and completion read it). */
export function markServiceEndpoint(cmd: Command, endpointId: string): void {
  (cmd as unknown as Record<symbol, string>)[ENDPOINT] = endpointId;
}

/** The endpoint id a service command stands for (undefined for built-in commands and service nouns). */
export function serviceEndpointOf(cmd: Command): string | undefined {
  return (cmd as unknown as Record<symbol, string | undefined>)[ENDPOINT];
}
