/**
 * Connections of a fleet run: hosts resolved one by one through
 * ~/.ssh/config, grouped by their bastion chain; one SSH connection per
 * distinct chain (opened once, shared), one nested connection per host
 * through it. Host-key questions are asked one at a time even when many
 * hosts connect at once. Loaded only when a command runs over several hosts.
 */
import type { Factory } from '../factory.js';
import type { ResolvedContext } from '../config/resolve-context.js';
import { ownKnownHostsPath, sshConfigPath, userKnownHostsPath } from '../config/paths.js';
import { HostKeyVerifier } from '../transport/host-key-verifier.js';
import { HttpTunnel } from '../transport/http-tunnel.js';
import { SshChain } from '../transport/ssh-chain.js';
import { resolveRoute } from '../ssh-config/resolve.js';
import type { Hop, HostKeyPrompt, Tunnel } from '../transport/types.js';
import { DEFAULT_MAX_RESPONSE_SIZE } from '../globals.js';

interface Route {
  spec: string;
  host: Hop;
  chainKey: string;
  bastions: Hop[];
}

export interface FleetConnector {
  /** Opens a tunnel to one host of the fleet (through its chain's shared connection). */
  open(hostSpec: string): Promise<Tunnel>;
  /** How many distinct bastion chains the fleet uses. */
  readonly chains: number;
  close(): Promise<void>;
}

/** One prompt at a time: parallel host connections must not ask over each other. */
function serialize(prompt: HostKeyPrompt): HostKeyPrompt {
  let queue: Promise<unknown> = Promise.resolve();
  return (info) => {
    const p = queue.then(() => prompt(info));
    queue = p.catch(() => undefined);
    return p;
  };
}

/** Resolves every host first, so a malformed host is a usage error before anything is sent. */
export async function createFleetConnector(f: Factory, ctx: ResolvedContext): Promise<FleetConnector> {
  const env = f.io.env;
  const g = f.globals();
  const routes = new Map<string, Route>();
  for (const spec of ctx.hosts) {
    const { host, bastions } = resolveRoute(spec, ctx.bastions.length ? ctx.bastions : undefined, { sshConfigPath: sshConfigPath(env), env });
    routes.set(spec, { spec, host, bastions, chainKey: JSON.stringify(bastions.map((b) => [b.user, b.host, b.port])) });
  }
  const knownHostsFiles = ctx.knownHosts ? [ctx.knownHosts] : [ownKnownHostsPath(env), userKnownHostsPath(env)];
  const prompt = f.hostKeyPrompt(knownHostsFiles[0]!);
  const verifier = await HostKeyVerifier.load({
    files: knownHostsFiles,
    ...(prompt ? { prompt: serialize(prompt) } : {}),
    log: (m) => f.debug(m),
    warn: (m) => f.io.stderr.write(`opsctl: warning: ${m}\n`),
  });
  const identity = await f.identity();
  const timeoutMs = g.timeout * 1000;
  const chains = new Map<string, Promise<SshChain>>();
  const chainFor = (r: Route): Promise<SshChain> => {
    let c = chains.get(r.chainKey);
    if (!c) {
      c = SshChain.connect(r.bastions, { identity, verifier, timeoutMs, log: (m) => f.debug(m) });
      chains.set(r.chainKey, c);
    }
    return c;
  };
  return {
    chains: new Set([...routes.values()].map((r) => r.chainKey)).size,
    async open(spec) {
      const r = routes.get(spec);
      if (!r) throw new Error(`host ${spec} is not part of this run`);
      const chain = await chainFor(r);
      const conn = await chain.connectHost(r.host);
      f.debug(`host ${r.host.name} ready in ${conn.timing.ms} ms`);
      return new HttpTunnel({
        open: () => conn.openChannel('127.0.0.1', ctx.port),
        hops: [...chain.hops, conn.timing],
        internalHost: '127.0.0.1',
        internalPort: ctx.port,
        via: `host "${r.host.name}"`,
        // Closing a host's tunnel ends its nested connection only; the chain stays for the others.
        close: () => conn.close(),
        closed: Promise.race([conn.closed, ...chain.bastions.map((b) => b.closed)]),
        isOpen: () => conn.isOpen && chain.isOpen,
        limits: { timeoutMs, maxBytes: g.maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE },
      });
    },
    async close() {
      const all = await Promise.allSettled([...chains.values()]);
      await Promise.all(all.map((c) => (c.status === 'fulfilled' ? c.value.close() : undefined)));
    },
  };
}
