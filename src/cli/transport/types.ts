/**
 * Contract between the CLI commands and the SSH transport. Commands never see
 * ssh2: they get a Tunnel that carries HTTP to the internal port.
 */
import type { Duplex, Readable } from 'node:stream';

/** One SSH hop, fully resolved (after ~/.ssh/config). */
export interface Hop {
  /** What the operator wrote (alias), for messages: "bastion prod-bastion". */
  name: string;
  host: string;
  port: number;
  user: string;
}

export interface TunnelTarget {
  /** Bastions in order (like ssh -J a,b); may be empty. */
  bastions: Hop[];
  /** The service host's sshd. */
  host: Hop;
  /** The internal port on the service host's loopback. */
  internalPort: number;
  /** Address the internal port listens on, default 127.0.0.1. */
  internalHost?: string;
  /** known_hosts files to check, in order; the first is opsctl's own (where TOFU answers are recorded). */
  knownHostsFiles: string[];
  /**
   * The connect budget (every hop together), and the bound of each request:
   * from sending it to the last byte of the answer, and for a stream the
   * longest silence between two chunks.
   */
  timeoutMs: number;
  /** Largest response body accepted (a stream: largest line), default 16 MiB. */
  maxResponseBytes?: number;
}

/** What the CLI accepts from the internal port before giving up on it. */
export interface ResponseLimits {
  /** A request from sent to fully answered; for a stream, until the headers and then between chunks. */
  timeoutMs: number;
  /** A buffered body, or one line of a stream. */
  maxBytes: number;
}

export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = { timeoutMs: 15_000, maxBytes: 16 * 1024 * 1024 };

/** A streamed response: the body as a byte stream, with its status and headers. */
export interface TunnelStream extends Readable {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface HopTiming {
  hop: Hop;
  /** 'bastion' or 'host'. */
  kind: 'bastion' | 'host';
  ms: number;
}

export interface TunnelRequest {
  method: string;
  /** Path plus '?query' when there is one. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
  /** This request's bound instead of the tunnel's (a long-poll waits longer than --timeout on purpose). */
  timeoutMs?: number;
}

export interface TunnelResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Tunnel {
  /** Hop timings of the connection (for doctor and -v). */
  readonly hops: HopTiming[];
  /** A buffered request/response. */
  request(req: TunnelRequest): Promise<TunnelResponse>;
  /** A streamed line-delimited response (NDJSON job events); bounded in silence and line length. */
  stream(req: TunnelRequest): Promise<TunnelStream>;
  /** A raw byte stream to the internal port (one direct-tcpip channel). */
  openChannel(): Promise<Duplex>;
  close(): Promise<void>;
  /** Resolves when the connection underneath is gone (SSH tunnels; never for a reused one). */
  readonly closed?: Promise<void>;
}

/** Asks the operator whether to trust an unknown host key (TTY only). */
export type HostKeyPrompt = (info: { hop: Hop; kind: 'bastion' | 'host'; keyType: string; fingerprint: string }) => Promise<boolean>;

/**
 * The question asked about an unknown host key. It names the hop's role,
 * because a route asks about the bastion and then the service host in a row.
 */
export function hostKeyQuestion(info: { hop: Hop; kind: 'bastion' | 'host'; keyType: string; fingerprint: string }, recordIn: string): string {
  const role = info.kind === 'bastion' ? 'bastion' : 'service host';
  return `The authenticity of ${role} "${info.hop.name}" (${info.hop.host}:${info.hop.port}) can't be established.\n  ${info.keyType} key fingerprint is ${info.fingerprint}.\n  Trust this ${role} key and record it in ${recordIn}?`;
}
