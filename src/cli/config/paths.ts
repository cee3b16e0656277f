import os from 'node:os';
import path from 'node:path';

type Env = Record<string, string | undefined>;

function xdg(env: Env, name: 'XDG_CONFIG_HOME', fallback: string): string {
  const v = env[name];
  return v && path.isAbsolute(v) ? v : path.join(env.HOME || os.homedir(), fallback);
}

/** `$OPSCTL_CONFIG`, else `$XDG_CONFIG_HOME/opsctl/config.yaml`. */
export function configPath(env: Env = process.env): string {
  return env.OPSCTL_CONFIG || path.join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'opsctl', 'config.yaml');
}

/** opsctl's own known_hosts, where answers to the host-key question are recorded. */
export function ownKnownHostsPath(env: Env = process.env): string {
  return path.join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'opsctl', 'known_hosts');
}

export function userKnownHostsPath(env: Env = process.env): string {
  return path.join(env.HOME || os.homedir(), '.ssh', 'known_hosts');
}

export function sshConfigPath(env: Env = process.env): string {
  return path.join(env.HOME || os.homedir(), '.ssh', 'config');
}

// The runtime, state and cache directories opsctl writes into are resolved
// by private-dir.ts, which checks each one before anything in it is opened.

/** opsctl's state (what it has seen, e.g. the audit checkpoints it witnessed): `$XDG_STATE_HOME/opsctl`. */
export function stateDir(env: Env = process.env): string {
  const v = env.XDG_STATE_HOME;
  return path.join(v && path.isAbsolute(v) ? v : path.join(env.HOME || os.homedir(), '.local', 'state'), 'opsctl');
}
