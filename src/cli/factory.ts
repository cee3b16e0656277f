/**
 * The one lazily-built source of a command's dependencies (IO, config,
 * context, output, prompter, identity, tunnel, client). Nothing is loaded or
 * connected until a command asks for it, so `--help` and completion stay
 * cheap and never touch ssh2, got or inquirer.
 */
import path from 'node:path';
import type { IOStreams } from './io.js';
import { canPrompt, colorEnabled } from './io.js';
import { DEFAULT_MAX_RESPONSE_SIZE, type GlobalOptions } from './globals.js';
import { readConfig, type ConfigFile } from './config/config-file.js';
import { configPath, ownKnownHostsPath, userKnownHostsPath, sshConfigPath } from './config/paths.js';
import { privateCacheDir, privateRuntimeDir } from './config/private-dir.js';
import { resolveContext, type ResolvedContext } from './config/resolve-context.js';
import { createOutput, type Output } from './output/output.js';
import { createPrompter, type Prompter } from './prompt/prompter.js';
import type { Identity } from './identity/types.js';
import { hostKeyQuestion, type HostKeyPrompt, type Tunnel, type TunnelTarget } from './transport/types.js';
import type { Client } from './client/client.js';
import { currentTarget } from './fleet/target-scope.js';

export interface Factory {
  readonly io: IOStreams;
  /** Global options; valid once the root command has parsed them. */
  globals(): GlobalOptions;
  configPath(): string;
  config(): Promise<ConfigFile>;
  /** Drops the cached config after a command changed the file. */
  invalidateConfig(): void;
  context(): Promise<ResolvedContext>;
  output(): Promise<Output>;
  prompter(): Prompter;
  identity(): Promise<Identity>;
  target(): Promise<TunnelTarget>;
  /**
   * The connection commands use: a running holder of the context (opsctl
   * tunnel, --background or persist) when there is one, else a new SSH
   * route. With `persist:` on the context a missing holder is started first.
   */
  tunnel(): Promise<Tunnel>;
  /** A new SSH route every call (never a reused one): doctor, and a holder (re)connecting. */
  connect(): Promise<Tunnel>;
  client(): Promise<Client>;
  /**
   * The unknown-host-key question every connecting command asks (doctor and
   * init too), or undefined when stdin/stderr are not a terminal.
   */
  hostKeyPrompt(recordIn: string): HostKeyPrompt | undefined;
  /** A verbose note on stderr (-v). */
  debug(message: string): void;
  /**
   * A factory for another context (same IO, globals but `--context NAME`),
   * for a command that talks to several contexts at once (approvals watch
   * --all-contexts). Its tunnel is its own; close it with its close().
   */
  forContext(name: string): Factory;
  /** Closes whatever was opened (the tunnel). */
  close(): Promise<void>;
  /**
   * The root command names and aliases of the CLI (set by buildProgram): a
   * service endpoint whose id starts with one is not a command of its own
   * (src/cli/service-commands).
   */
  builtinCommands: readonly string[];
}

function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = fn();
      done = true;
    }
    return value;
  };
}

/** Where `opsctl tunnel` for a context listens, so later commands can reuse it. */
export function tunnelSocketPath(env: Record<string, string | undefined>, contextName: string): string {
  return path.join(privateRuntimeDir(env), `tunnel-${contextName}.sock`);
}

/**
 * The command line of a background holder for a context: the connection
 * flags this command was given (they override the context), then
 * `tunnel --holder`.
 */
export function holderArgs(g: GlobalOptions, context: string, extra: string[] = []): string[] {
  const a = ['--context', context];
  if (g.bastion !== undefined) a.push('--bastion', g.bastion);
  if (g.host !== undefined) a.push('--host', g.host);
  if (g.port !== undefined) a.push('--port', String(g.port));
  if (g.identity !== undefined) a.push('--identity', g.identity);
  if (g.knownHosts !== undefined) a.push('--known-hosts', g.knownHosts);
  if (g.maxResponseSize !== undefined) a.push('--max-response-size', String(g.maxResponseSize));
  a.push('--timeout', String(g.timeout));
  if (g.verbose) a.push('-v');
  return [...a, 'tunnel', '--holder', ...extra];
}

export function createFactory(io: IOStreams, getGlobals: () => GlobalOptions): Factory {
  const env = io.env;
  let configPromise: Promise<ConfigFile> | undefined;
  let tunnelPromise: Promise<Tunnel> | undefined;

  const ownOutput = once(() => {
    const g = getGlobals();
    return createOutput(io, g.output, colorEnabled(io.stdout, env, g.color), { wide: Boolean(g.wide) });
  });
  const f: Factory = {
    io,
    builtinCommands: [],
    // While a command runs for one host of a fleet (src/cli/fleet), these
    // four come from that host's scope; everything else is shared.
    globals: () => currentTarget()?.globals ?? getGlobals(),
    configPath: () => configPath(env),
    config() {
      // The parsed config is cached by content, so an unchanged one skips the YAML parser
      // (a leading dot: no context name, hence no completion cache, can take that file name).
      configPromise ??= readConfig(configPath(env), () => path.join(privateCacheDir(env), '.config.parsed.json'));
      return configPromise;
    },
    invalidateConfig() {
      configPromise = undefined;
    },
    async context() {
      return resolveContext(getGlobals(), await f.config(), env);
    },
    output: () => {
      const t = currentTarget();
      return t ? Promise.resolve(t.output) : ownOutput();
    },
    prompter: once(() => createPrompter(io)),
    identity: once(async () => {
      const ctx = await f.context();
      const { parseIdentitySpec, loadIdentity } = await import('./identity/index.js');
      const prompter = f.prompter();
      return loadIdentity(parseIdentitySpec(ctx.identity), {
        env,
        ...(prompter.interactive ? { promptPassphrase: () => prompter.password(`Passphrase for ${ctx.identity}:`) } : {}),
      });
    }),
    target: once(async () => {
      const ctx = await f.context();
      if (ctx.hosts.length > 1) {
        // Commands that talk to the service fan out (src/cli/fleet); the
        // few that hold one connection (tunnel, doctor) say whom they use.
        io.stderr.write(`opsctl: warning: ${ctx.name ? `context "${ctx.name}"` : '--host'} names ${ctx.hosts.length} hosts; this command does not fan out, so it talks to ${ctx.hosts[0]} only\n`);
      }
      const { resolveRoute } = await import('./ssh-config/resolve.js');
      // --bastion wins; otherwise the host's ProxyJump from ~/.ssh/config, as OpenSSH does.
      const { host, bastions } = resolveRoute(ctx.hosts[0]!, ctx.bastions.length ? ctx.bastions : undefined, { sshConfigPath: sshConfigPath(env), env });
      return {
        bastions,
        host,
        internalPort: ctx.port,
        knownHostsFiles: ctx.knownHosts ? [ctx.knownHosts] : [ownKnownHostsPath(env), userKnownHostsPath(env)],
        timeoutMs: getGlobals().timeout * 1000,
        maxResponseBytes: getGlobals().maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE,
      } satisfies TunnelTarget;
    }),
    async connect() {
      const [target, identity] = await Promise.all([f.target(), f.identity()]);
      const { openTunnel } = await import('./transport/connect.js');
      const promptHostKey = f.hostKeyPrompt(target.knownHostsFiles[0]!);
      // Feedback for a slow hop, on a terminal only: never piped, never with -o json
      // (and not with -v, whose lines say the same).
      const g = getGlobals();
      const spinner = io.stderr.isTTY && g.output !== 'json' && !g.verbose ? io.stderr : undefined;
      const tunnel = await openTunnel(target, identity, {
        log: (m) => f.debug(m),
        warn: (m) => io.stderr.write(`opsctl: warning: ${m}\n`),
        ...(promptHostKey ? { promptHostKey } : {}),
        ...(spinner ? { spinner } : {}),
      });
      for (const h of tunnel.hops) f.debug(`${h.kind} ${h.hop.name} (${h.hop.user}@${h.hop.host}:${h.hop.port}) ready in ${h.ms} ms`);
      return tunnel;
    },
    tunnel() {
      const t = currentTarget();
      if (t) return t.tunnel();
      tunnelPromise ??= (async () => {
        const ctx = await f.context();
        if (!ctx.name) return f.connect();
        const g = getGlobals();
        let socket: string;
        try {
          socket = tunnelSocketPath(env, ctx.name);
        } catch (e) {
          // No safe runtime dir: a one-shot command connects on its own; a
          // persisting context cannot keep its connection anywhere (exit 5).
          if (ctx.persistMs !== undefined) throw e;
          f.debug(`no tunnel reuse: ${(e as Error).message}`);
          return f.connect();
        }
        const reuseOpts = { limits: { timeoutMs: g.timeout * 1000, maxBytes: g.maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE } };
        // The reused path loads only node:net/http and the signer: no ssh2.
        const { tryReuseTunnel } = await import('./transport/reuse.js');
        const reused = await tryReuseTunnel(socket, reuseOpts);
        if (reused) {
          f.debug(`reusing the open tunnel of context ${ctx.name} (${socket})`);
          return reused;
        }
        if (ctx.persistMs === undefined) return f.connect();
        // ControlPersist: start the context's holder, then go through it.
        const { spawnHolder } = await import('./transport/holder.js');
        const fs = await import('node:fs');
        const script = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
        try {
          await spawnHolder({
            script,
            args: holderArgs(g, ctx.name, ['--idle-exit', String(ctx.persistMs)]),
            env,
            socketPath: socket,
            waitMs: g.timeout * 1000 + 5000,
          });
          f.debug(`started a background holder for context ${ctx.name} (persist ${Math.round(ctx.persistMs / 1000)} s)`);
        } catch (e) {
          // Another command may have started one meanwhile.
          const raced = await tryReuseTunnel(socket, reuseOpts);
          if (raced) return raced;
          // What a terminal could answer (an unknown host key, a passphrase)
          // the detached holder cannot: connect here, this once.
          const name = (e as Error).name;
          if ((name === 'HostKeyError' || name === 'IdentityError') && canPrompt(io)) {
            f.debug(`the background holder could not start (${(e as Error).message}); connecting directly`);
            return f.connect();
          }
          throw e;
        }
        const held = await tryReuseTunnel(socket, reuseOpts);
        return held ?? f.connect();
      })();
      return tunnelPromise;
    },
    hostKeyPrompt(recordIn) {
      if (!canPrompt(io)) return undefined;
      const prompter = f.prompter();
      return (info) => prompter.confirm(hostKeyQuestion(info, recordIn), false);
    },
    client: () => currentTarget()?.client() ?? ownClient(),
    debug(message) {
      let verbose = false;
      try {
        verbose = getGlobals().verbose;
      } catch {
        verbose = false;
      }
      if (verbose) io.stderr.write(`opsctl: ${message}\n`);
    },
    forContext(name) {
      // Connection flags given on the command line would point every context at one host: only the context's own apply.
      return createFactory(io, () => {
        const { bastion: _b, host: _h, hosts: _hs, hostsFile: _hf, port: _p, identity: _i, knownHosts: _k, ...g } = getGlobals();
        return { ...g, context: name };
      });
    },
    async close() {
      if (tunnelPromise) {
        const t = await tunnelPromise.catch(() => undefined);
        tunnelPromise = undefined;
        await t?.close().catch(() => undefined);
      }
    },
  };
  const ownClient = once(async () => {
    const [tunnel, identity, ctx] = await Promise.all([f.tunnel(), f.identity(), f.context()]);
    const { Client } = await import('./client/client.js');
    const { instanceMemory, instanceTarget } = await import('./client/instance-memory.js');
    const g = getGlobals();
    const instance = instanceMemory(env, instanceTarget(ctx.bastions, ctx.hosts[0]!, ctx.port));
    // Held requests, --dry-run and --break-glass are handled for every command in one place.
    const { reviewHooks } = await import('./approvals/review-hooks.js');
    return new Client(tunnel, identity, { ...(g.reason ? { reason: g.reason } : {}), review: reviewHooks(f), instance });
  });
  return f;
}
