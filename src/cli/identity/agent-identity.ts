import fs from 'node:fs/promises';
import type { OpenSSHAgent, ParsedKey } from 'ssh2';
import { fingerprintOfBlob, parseOpenSshPublicKey } from '../../protocol/fingerprint.js';
import { loadSsh2 } from '../transport/load-ssh2.js';
import { IdentityError } from './identity-error.js';
import type { Identity, IdentitySpec } from './types.js';

/**
 * An identity held by ssh-agent: both the SSH hops and the HTTP request
 * signatures are signed by the agent, so the private key never enters
 * this process.
 */
export class AgentIdentity implements Identity {
  readonly spec: IdentitySpec;
  readonly publicKeyLine: string;
  readonly keyid: string;
  private readonly socket: string;
  private readonly agent: OpenSSHAgent;
  private readonly key: ParsedKey;

  private constructor(spec: IdentitySpec, socket: string, agent: OpenSSHAgent, key: ParsedKey) {
    this.spec = spec;
    this.socket = socket;
    this.agent = agent;
    this.key = key;
    const blob = key.getPublicSSH();
    this.publicKeyLine = `ssh-ed25519 ${blob.toString('base64')}${key.comment ? ` ${key.comment}` : ''}`;
    this.keyid = fingerprintOfBlob(blob);
  }

  /** Asks the agent at `socket` for its Ed25519 key (the one `select` names, or the first). */
  static async connect(spec: IdentitySpec & { kind: 'agent' }, socket: string | undefined): Promise<AgentIdentity> {
    if (!socket) {
      throw new IdentityError(
        '--identity agent needs a running ssh-agent, but SSH_AUTH_SOCK is not set; start one with eval "$(ssh-agent)" and ssh-add ~/.ssh/id_ed25519, ' +
          'or use --identity keychain:NAME or --identity ~/.ssh/id_ed25519 (a key file)',
        'agent-unavailable',
      );
    }
    const ssh2 = await loadSsh2();
    const agent = new ssh2.OpenSSHAgent(socket);
    const keys = await new Promise<ParsedKey[]>((resolve, reject) => {
      agent.getIdentities((err, list) =>
        err || !list
          ? reject(new IdentityError(`cannot talk to ssh-agent at ${socket} (SSH_AUTH_SOCK): ${err?.message ?? 'no answer'}`, 'agent-unavailable'))
          : resolve(list as ParsedKey[]),
      );
    });
    const ed25519 = keys.filter((k) => k.type === 'ssh-ed25519');
    let chosen: ParsedKey | undefined;
    if (spec.select) {
      const want = await selectorFingerprint(spec.select);
      chosen = ed25519.find((k) => fingerprintOfBlob(k.getPublicSSH()) === want);
      if (!chosen) {
        throw new IdentityError(`ssh-agent holds no Ed25519 key ${want}${spec.select !== want ? ` (${spec.select})` : ''}; ssh-add -l lists what it holds`, 'agent-no-key');
      }
    } else {
      chosen = ed25519[0];
      if (!chosen) {
        throw new IdentityError(
          `ssh-agent at ${socket} holds no Ed25519 key${keys.length ? ` (only ${[...new Set(keys.map((k) => k.type))].join(', ')})` : ''}; ` +
            'opsctl needs one: ssh-add ~/.ssh/id_ed25519 (create it with ssh-keygen -t ed25519)',
          'agent-no-key',
        );
      }
    }
    return new AgentIdentity(spec, socket, agent, chosen);
  }

  get ssh(): { agent: string } {
    return { agent: this.socket };
  }

  sign(data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.agent.sign(this.key, data, (err, sig) => {
        if (err || !sig) reject(new IdentityError(`ssh-agent did not sign with key ${this.keyid}: ${err?.message ?? 'no signature'}`, 'agent-unavailable'));
        else resolve(sig);
      });
    });
  }
}

async function selectorFingerprint(select: string): Promise<string> {
  if (select.startsWith('SHA256:')) return select;
  let line: string;
  try {
    line = await fs.readFile(select, 'utf8');
  } catch (e) {
    throw new IdentityError(`cannot read public key file ${select}: ${(e as Error).message}`, 'unreadable');
  }
  try {
    return fingerprintOfBlob(parseOpenSshPublicKey(line.split('\n')[0] ?? '').blob);
  } catch (e) {
    throw new IdentityError(`${select} is not an OpenSSH public key file (${(e as Error).message})`, 'not-a-key');
  }
}
