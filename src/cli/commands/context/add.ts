import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { writeConfig, CONTEXT_NAME, type ContextConfig } from '../../config/config-file.js';
import { UsageError } from '../../errors/usage-error.js';

export interface ContextAddOptions {
  name: string;
  bastion?: string;
  host: string;
  port?: number;
  identity?: string;
  knownHosts?: string;
  protected: boolean;
  requireReason: boolean;
  use: boolean;
  force: boolean;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('add')
    .description('Create or replace a context')
    .argument('<name>', 'context name')
    // These shadow the global flags of the same name on purpose: here they
    // describe the context being saved, not the target of this invocation.
    .option('--bastion <chain>', 'bastion chain [user@]host[:port][,...]')
    .option('--host <hosts>', 'service host(s) [user@]host[:port][,...] (required)')
    .option('--port <n>', 'internal port (default: 9900)')
    .option('--identity <spec>', 'keychain:NAME | agent | FILE')
    .option('--known-hosts <file>', 'known_hosts file for this context')
    .option('--protected', 'destructive actions need the context name typed', false)
    .option('--require-reason', 'mutating commands need --reason', false)
    .addOption(new Option('--no-use', 'do not make it the current context'))
    .option('--force', 'replace an existing context of that name', false)
    .action(async (name: string, o: Record<string, unknown>) => {
      // The root command parses its global options anywhere on the line, so
      // it takes --host, --bastion, --port, --identity and --known-hosts
      // before this command sees them: read them from there when not here.
      const g = f.globals();
      const host = o.host ?? g.host;
      if (typeof host !== 'string') throw new UsageError('context add needs --host [user@]host[:port][,...]');
      const rawPort = o.port ?? g.port;
      const port = rawPort === undefined ? undefined : Number(rawPort);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new UsageError(`--port must be 1-65535, got "${String(rawPort)}"`);
      const bastion = o.bastion ?? g.bastion;
      const identity = o.identity ?? g.identity;
      const knownHosts = o.knownHosts ?? g.knownHosts;
      await run(f, {
        name,
        host,
        ...(typeof bastion === 'string' ? { bastion } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(typeof identity === 'string' ? { identity } : {}),
        ...(typeof knownHosts === 'string' ? { knownHosts } : {}),
        protected: Boolean(o.protected),
        requireReason: Boolean(o.requireReason),
        use: o.use !== false,
        force: Boolean(o.force),
      });
    });
}

const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export async function run(f: Factory, opts: ContextAddOptions): Promise<void> {
  if (!CONTEXT_NAME.test(opts.name)) throw new UsageError(`invalid context name "${opts.name}" (letters, digits, . _ -; up to 64)`);
  if (opts.identity && !/^(keychain:.+|agent(:.+)?|.+)$/.test(opts.identity)) throw new UsageError('--identity must be keychain:NAME, agent or a file path');
  const cfg = await f.config();
  if (cfg.contexts[opts.name] && !opts.force) throw new UsageError(`context "${opts.name}" exists; pass --force to replace it`);
  const ctx: ContextConfig = { host: split(opts.host) };
  if (opts.bastion) ctx.bastion = split(opts.bastion);
  if (opts.port !== undefined) ctx.port = opts.port;
  if (opts.identity) ctx.identity = opts.identity;
  if (opts.knownHosts) ctx['known-hosts'] = opts.knownHosts;
  if (opts.protected) ctx.protected = true;
  if (opts.requireReason) ctx['require-reason'] = true;
  const next = { ...cfg, contexts: { ...cfg.contexts, [opts.name]: ctx } };
  if (opts.use || !cfg['current-context']) next['current-context'] = opts.name;
  await writeConfig(f.configPath(), next, { ownDir: !f.io.env.OPSCTL_CONFIG });
  f.invalidateConfig();
  const out = await f.output();
  out.emit({ name: opts.name, current: next['current-context'] === opts.name, context: ctx }, () =>
    out.success(`context "${opts.name}" saved to ${f.configPath()}${next['current-context'] === opts.name ? ' and in use' : ''}`),
  );
}
