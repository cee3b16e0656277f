import os from 'node:os';
import path from 'node:path';

type Env = Record<string, string | undefined>;

function xdg(env: Env, name: 'XDG_CONFIG_HOME' | 'XDG_CACHE_HOME' | 'XDG_RUNTIME_DIR', fallback: string): string {
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

/** Per-context completion cache directory. */
export function cacheDir(env: Env = process.env): string {
  return path.join(xdg(env, 'XDG_CACHE_HOME', '.cache'), 'opsctl');
}

/** Where `opsctl tunnel` puts its socket: a private per-user directory. */
export function runtimeDir(env: Env = process.env): string {
  const base = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : path.join(os.tmpdir(), `opsctl-${process.getuid?.() ?? 'user'}`);
  return path.join(base, env.XDG_RUNTIME_DIR ? 'opsctl' : '');
}

/** opsctl's state (what it has seen, e.g. the audit checkpoints it witnessed): `$XDG_STATE_HOME/opsctl`. */
export function stateDir(env: Env = process.env): string {
  const v = env.XDG_STATE_HOME;
  return path.join(v && path.isAbsolute(v) ? v : path.join(env.HOME || os.homedir(), '.local', 'state'), 'opsctl');
}
