/**
 * The fix for each way a doctor check fails, as a command the operator can
 * run (or read): doctor says what to do, not only what is wrong.
 */
import type { Hop, TunnelTarget } from '../../transport/types.js';
import type { Identity } from '../../identity/types.js';

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const knownHostsName = (h: Hop) => (h.port === 22 ? h.host : `[${h.host}]:${h.port}`);
const sshTo = (h: Hop) => `ssh${h.port === 22 ? '' : ` -p ${h.port}`} ${h.user}@${h.host}`;

interface FailureLike {
  name?: string;
  code?: unknown;
  hop?: string;
  kind?: string;
  hopKind?: string;
  reason?: string;
  problem?: string;
}

/** The hop an error names, looked up in the route. */
function hopOf(target: TunnelTarget, err: FailureLike): Hop | undefined {
  const kind = err.hopKind ?? err.kind;
  if (kind === 'host' || kind === 'internal-port') return target.host;
  // Two bastions may share a name (an address); the last match is the deepest hop reached.
  return [...target.bastions].reverse().find((h) => h.name === err.hop);
}

/** A command that fixes (or pinpoints) the failure, or undefined when there is none to offer. */
export function fixFor(e: unknown, where: { target?: TunnelTarget; identity?: Identity; role?: string }): string | undefined {
  const err = (e ?? {}) as FailureLike;
  const { target, identity } = where;
  if (err.name === 'HostKeyError' && target) {
    const h = hopOf(target, err);
    if (!h) return undefined;
    const file = target.knownHostsFiles[0] ?? '~/.ssh/known_hosts';
    // Works on a fresh machine (no ~/.config/opsctl yet) and for a host behind a bastion.
    if (err.problem === 'unknown') return `opsctl doctor --accept-host-key ${(e as { fingerprint?: string }).fingerprint ?? 'SHA256:…'}   # after checking that fingerprint out of band (or run opsctl doctor on a terminal and answer y)`;
    return `ssh-keygen -R ${q(knownHostsName(h))} -f ${q(file)}   # only if ${h.name}'s host key was rotated on purpose; then run opsctl doctor again`;
  }
  if (err.name === 'ConnectionError' && target) {
    const h = hopOf(target, err);
    switch (err.reason) {
      case 'auth':
        if (h && identity) return `echo ${q(identity.publicKeyLine)} | ${sshTo(h)} 'cat >> ~/.ssh/authorized_keys'   # by someone who can log in there`;
        return undefined;
      case 'unreachable':
      case 'timeout':
      case 'closed':
        return h ? `${sshTo(h)} -v true   # shows where the connection stops; check the address with opsctl context show` : undefined;
      case 'channel-refused':
        return `${sshTo(target.host)} curl -s http://127.0.0.1:${target.internalPort}/v1/health   # is the service's internal port listening on ${target.internalPort}?`;
      case 'channel-prohibited':
        return `${sshTo(target.host)} sudo sshd -T | grep -i -e allowtcpforwarding -e permitopen   # must allow 127.0.0.1:${target.internalPort} (docs/deploy.md)`;
    }
    return undefined;
  }
  if (err.name === 'ProblemError') {
    if (err.code === 'auth.unknown_key' && identity) {
      return `echo ${q(`role="${where.role ?? 'viewer'}" ${identity.publicKeyLine}`)} >> ALLOWLIST   # on the service host (its allowlist file; the service reloads it)`;
    }
    if (err.code === 'auth.expired') return 'sudo timedatectl set-ntp true   # on whichever machine\'s clock is wrong';
  }
  if (err.name === 'KeychainUnavailableError') return 'opsctl init   # or use --identity agent / --identity FILE';
  if (err.name === 'UsageError' || err.name === 'HopSpecError' || err.name === 'ConfigError') return 'opsctl init   # or opsctl context add NAME --host … --port N --identity SPEC';
  return undefined;
}
