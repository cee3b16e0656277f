/**
 * ssh2 costs tens of ms to import, so it is loaded only when a connection is
 * actually made: `--help`, completion and config commands never pay for it.
 * And only the parts a client uses: ssh2's index also loads its SSH server,
 * its HTTP(S) agents (node:https, hence node:tls) and its key generator,
 * about a tenth of its import's CPU that no opsctl command needs.
 */
export type Ssh2Module = Pick<typeof import('ssh2'), 'Client' | 'OpenSSHAgent' | 'BaseAgent'> & {
  utils: Pick<(typeof import('ssh2'))['utils'], 'parseKey'>;
};

let loading: Promise<Ssh2Module> | undefined;

// ssh2 is CommonJS: depending on the loader its exports sit on `default`.
const cjs = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;

/** ssh2's Client, agents and key parser, imported on first use. */
export function loadSsh2(): Promise<Ssh2Module> {
  loading ??= Promise.all([
    import('ssh2/lib/client.js'),
    import('ssh2/lib/agent.js'),
    import('ssh2/lib/protocol/keyParser.js'),
  ]).then(([client, agent, keyParser]) => {
    const a = cjs<Pick<typeof import('ssh2'), 'OpenSSHAgent' | 'BaseAgent'>>(agent);
    return {
      Client: cjs<typeof import('ssh2')['Client']>(client),
      OpenSSHAgent: a.OpenSSHAgent,
      BaseAgent: a.BaseAgent,
      utils: { parseKey: cjs<Pick<(typeof import('ssh2'))['utils'], 'parseKey'>>(keyParser).parseKey },
    };
  });
  return loading;
}
