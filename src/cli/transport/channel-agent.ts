import http from 'node:http';
import type { Duplex } from 'node:stream';

/** Opens one byte stream to the internal port (a direct-tcpip channel, or a local socket). */
export type ChannelOpener = () => Promise<Duplex>;

function noop(): void {}

// node:http treats its connection as a net.Socket; a channel has none of the
// TCP knobs, and the SSH connection (not the channel) keeps the process alive.
function decorate(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[m] !== 'function') s[m] = noop;
  }
  if (typeof s.destroySoon !== 'function') s.destroySoon = () => stream.destroy();
  return stream;
}

/**
 * An http.Agent whose connections are channels opened on an already
 * connected transport (unlike ssh2's HTTPAgent, which makes a new SSH
 * connection per request). keepAlive lets sequential requests reuse a
 * channel; parallel requests open more channels on the same connection.
 */
export class ChannelAgent extends http.Agent {
  private readonly openChannel: ChannelOpener;

  constructor(openChannel: ChannelOpener, options: http.AgentOptions = {}) {
    // servername '' : node:http otherwise derives a TLS server name from the
    // Host header on every request, testing it with isIP(), whose IPv6
    // regular expression is compiled on first use: 7 % of a held command's
    // CPU profile, for a name plain HTTP never sends.
    super({ keepAlive: true, maxSockets: 16, servername: '', ...options } as http.AgentOptions);
    this.openChannel = openChannel;
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.openChannel().then(
      (stream) => callback?.(null, decorate(stream)),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
