import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { CLIENT_VERSION } from '../../client-version.js';
import { PROTOCOL_VERSION, type Catalog } from '../../../protocol/catalog.js';
import { rememberCatalog } from '../../service-commands/remember-catalog.js';

export interface VersionOptions {
  /** Only this opsctl; no connection. */
  client: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('version')
    .description('Show the versions of opsctl, the protocol it speaks, and the service it reaches')
    .option('--client', 'only this opsctl (no connection)', false)
    .addHelpText('after', '\nThe server part comes from the catalog of the current context (or the connection flags).\n-o json: {client: {version, protocol}, server: {service, version, protocol} | null}.\nWhen the service cannot be reached, the client part is still printed and the exit status says why (e.g. 5).')
    .action(async (o: { client?: boolean }) => run(f, { client: Boolean(o.client) }));
}

export async function run(f: Factory, opts: VersionOptions): Promise<void> {
  const out = await f.output();
  const client = { version: CLIENT_VERSION, protocol: PROTOCOL_VERSION };
  if (opts.client) {
    out.emit({ client, server: null }, () => {
      out.fields([['client', `opsctl ${client.version}`], ['protocol', client.protocol]]);
    });
    return;
  }
  let catalog: Catalog;
  try {
    catalog = await (await f.client()).catalog();
    await rememberCatalog(f, catalog);
  } catch (e) {
    // The client part is true whatever the network does: print it, then fail.
    out.emit({ client, server: null }, () => out.fields([['client', `opsctl ${client.version}`], ['protocol', client.protocol]]));
    throw e;
  }
  const server = { service: catalog.service, version: catalog.version, protocol: catalog.protocol };
  out.emit({ client, server }, () => {
    out.fields([
      ['client', `opsctl ${client.version}`],
      ['protocol', `${client.protocol}${server.protocol !== client.protocol ? ` (the service speaks ${server.protocol}: upgrade one of them)` : ''}`],
      ['server', `${server.service} ${server.version}, protocol ${server.protocol}`],
    ]);
  });
}
