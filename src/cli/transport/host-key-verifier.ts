import path from 'node:path';
import type { Hop, HostKeyPrompt } from './types.js';
import { HostKeyError } from './host-key-error.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOfBlob,
  knownHostsName,
  readKnownHostsFiles,
  recordedKeyTypes,
  type KnownHostEntry,
} from './known-hosts.js';

export interface HostKeyVerifierOptions {
  /** known_hosts files in order; the first one records keys the operator accepts. */
  files: string[];
  /** Asks the operator about an unknown key (TTY only). Without it, unknown keys are refused. */
  prompt?: HostKeyPrompt;
  /**
   * Fingerprints (`SHA256:…`) the operator checked out of band and trusts
   * (`opsctl doctor --accept-host-key`): an unknown key with one of them is
   * recorded as if answered "yes" on a terminal. Never overrides a changed
   * or revoked key.
   */
  accept?: string[];
  log?: (msg: string) => void;
  /** Said on stderr even without -v (a key recorded by --accept-host-key). */
  note?: (msg: string) => void;
  warn?: (msg: string) => void;
}

// ssh2's server host key algorithms, most preferred first.
const DEFAULT_HOST_KEY_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algosForKeyType(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/**
 * Decides, for every SSH hop, whether the presented host key is trusted:
 * ssh2 accepts any key by default, so every connection goes through this.
 */
export class HostKeyVerifier {
  private entries: KnownHostEntry[];
  private readonly opts: HostKeyVerifierOptions;
  // One question at a time: fan-out connects hosts in parallel, and two
  // prompts must not interleave on the terminal.
  private promptQueue: Promise<unknown> = Promise.resolve();

  private constructor(entries: KnownHostEntry[], opts: HostKeyVerifierOptions) {
    this.entries = entries;
    this.opts = opts;
  }

  /** Reads the known_hosts files once; later hops and hosts reuse them. */
  static async load(opts: HostKeyVerifierOptions): Promise<HostKeyVerifier> {
    return new HostKeyVerifier(await readKnownHostsFiles(opts.files), opts);
  }

  /** Whether an unknown key would lead to a question (so callers can pause timers). */
  get canPrompt(): boolean {
    return this.opts.prompt !== undefined;
  }

  /**
   * Host key algorithms to offer for a hop, recorded types first, as OpenSSH
   * does, so a host with several keys presents the one we know. Undefined
   * when ssh2's default order already fits.
   */
  preferredAlgorithms(hop: Hop): string[] | undefined {
    const types = recordedKeyTypes(this.entries, knownHostsName(hop.host, hop.port));
    if (!types.length) return undefined;
    const first = types.flatMap(algosForKeyType).filter((a) => DEFAULT_HOST_KEY_ALGOS.includes(a));
    const order = [...new Set([...first, ...DEFAULT_HOST_KEY_ALGOS])];
    return order.every((a, i) => a === DEFAULT_HOST_KEY_ALGOS[i]) ? undefined : order;
  }

  /**
   * Resolves when the key is trusted (recorded, or accepted by the operator
   * and then recorded); throws HostKeyError otherwise. `onPrompt` brackets
   * the question (and the wait for an earlier one) so the caller's handshake
   * timer can stop while a human reads. Questions are asked one at a time.
   */
  async verify(
    hop: Hop,
    kind: 'bastion' | 'host',
    keyBlob: Buffer,
    onPrompt?: (asking: boolean) => void,
    /** The hop is reached straight from this machine (the first hop), not through a bastion. */
    direct = true,
  ): Promise<void> {
    const name = knownHostsName(hop.host, hop.port);
    const fp = fingerprint(keyBlob);
    const keyType = keyTypeOfBlob(keyBlob);
    const where = `${kind} "${hop.name}" (${name})`;
    const verdict = checkHostKey(this.entries, name, keyBlob);
    const details = { hop: hop.name, hopKind: kind, knownHostsName: name, fingerprint: fp };

    switch (verdict.status) {
      case 'ok':
        this.opts.log?.(`host key ${keyType} ${fp} of ${where} matches ${verdict.entry.file}${verdict.entry.line ? `:${verdict.entry.line}` : ''}`);
        return;
      case 'revoked':
        throw new HostKeyError(
          `REVOKED HOST KEY for ${where}: ${fp} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`,
          { ...details, problem: 'revoked' },
        );
      case 'mismatch': {
        const expected = verdict.expected.map((e) => fingerprint(e.keyBlob));
        const at = verdict.expected.map((e) => `${e.file}:${e.line}`).join(', ');
        throw new HostKeyError(
          `HOST KEY MISMATCH for ${where}: expected ${expected.join(' or ')}, got ${keyType} ${fp} — ` +
            `possible man-in-the-middle attack; refusing to connect. If the host key was rotated on purpose, fix the known_hosts entry (${at})`,
          { ...details, problem: 'mismatch', expected },
        );
      }
      case 'unknown':
        break;
    }

    if (this.opts.accept?.includes(fp)) {
      await this.record(hop, kind, keyBlob, 'accepted with --accept-host-key');
      return;
    }
    const prompt = this.opts.prompt;
    if (!prompt) {
      throw new HostKeyError(`unknown host key for ${where}: ${keyType} ${fp}; no TTY to confirm it`, {
        ...details,
        problem: 'unknown',
        hint: trustHint(fp, hop, this.opts.files[0], direct),
      });
    }
    // The caller's connect timer stops while we wait for our turn and while the operator reads.
    onPrompt?.(true);
    const turn = this.promptQueue.then(() => this.askAndRecord(hop, kind, keyBlob, prompt));
    this.promptQueue = turn.catch(() => undefined);
    try {
      await turn;
    } finally {
      onPrompt?.(false);
    }
  }

  private async askAndRecord(
    hop: Hop,
    kind: 'bastion' | 'host',
    keyBlob: Buffer,
    prompt: HostKeyPrompt,
  ): Promise<void> {
    const name = knownHostsName(hop.host, hop.port);
    const fp = fingerprint(keyBlob);
    const keyType = keyTypeOfBlob(keyBlob);
    const where = `${kind} "${hop.name}" (${name})`;
    // The operator may have accepted this very key while we waited our turn.
    if (checkHostKey(this.entries, name, keyBlob).status === 'ok') return;
    const yes = await prompt({ hop, kind, keyType, fingerprint: fp });
    if (!yes) {
      throw new HostKeyError(`host key for ${where} (${keyType} ${fp}) was not accepted; not connecting`, {
        hop: hop.name,
        hopKind: kind,
        knownHostsName: name,
        fingerprint: fp,
        problem: 'unknown',
      });
    }
    await this.record(hop, kind, keyBlob);
  }

  /** Records a key the operator accepted in the first known_hosts file (its directory made 0700 if missing). */
  private async record(hop: Hop, kind: 'bastion' | 'host', keyBlob: Buffer, how?: string): Promise<void> {
    const name = knownHostsName(hop.host, hop.port);
    const fp = fingerprint(keyBlob);
    const where = `${kind} "${hop.name}" (${name})`;
    const file = this.opts.files[0];
    if (!file) {
      this.opts.warn?.(`host key of ${where} accepted for this connection only (no known_hosts file to record it in)`);
      return;
    }
    try {
      this.entries.push(await appendKnownHost(file, name, keyBlob));
      const line = `recorded host key ${fp} of ${where} in ${file}${how ? ` (${how})` : ''}`;
      // Said even without -v when it was not a question answered on the terminal.
      if (how) this.opts.note?.(line);
      else this.opts.log?.(line);
    } catch (e) {
      this.opts.warn?.(`host key of ${where} accepted, but it could not be recorded in ${file}: ${(e as Error).message}`);
    }
  }
}

const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * How to trust an unknown host key without a terminal, as commands that work
 * on a fresh machine (where opsctl's config directory does not exist yet):
 * opsctl itself, which reaches any hop through the bastions before it; and
 * for a hop reached straight from here, ssh-keyscan into the known_hosts
 * file, creating its directory first.
 */
export function trustHint(fp: string, hop: Hop, file: string | undefined, direct: boolean): string {
  const lines = ['Check that fingerprint out of band (ask whoever runs the host), then trust it with:', `  opsctl doctor --accept-host-key ${fp}    # with this command's --context or connection flags`];
  if (direct && file) {
    lines.push(`or:\n  mkdir -p -m 700 ${shq(path.dirname(file))} && ssh-keyscan -p ${hop.port} ${shq(hop.host)} >> ${shq(file)}`);
  }
  lines.push('or run the command once on a terminal and answer its question.');
  return lines.join('\n');
}
