/**
 * Everything the demo writes lives in one private temp dir: the operator
 * key (a file identity, 0600: the demo never touches the keychain), the
 * service's allowlist and data, the pinned known_hosts, and the config and
 * cache dirs the CLI runs with. Removing the dir removes the demo.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

export interface KeyPair {
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicKey: string;
}

/**
 * A second admin, bob, with his own key, config, cache and state (as on his
 * own laptop): the person who approves what the operator asks for
 * (README, "Approvals and dry-run").
 */
export interface SecondOperator {
  name: string;
  keyFile: string;
  keys: KeyPair;
  configFile: string;
  cacheDir: string;
  stateDir: string;
  /** The environment his CLI runs get. */
  env: Record<string, string>;
}

export interface Workspace {
  dir: string;
  operatorKeyFile: string;
  operator: KeyPair;
  second: SecondOperator;
  allowlistFile: string;
  knownHostsFile: string;
  dataDir: string;
  serviceLog: string;
  configFile: string;
  cacheDir: string;
  /** opsctl's state (witnessed checkpoints, instance ids): kept with the demo, never in the user's HOME. */
  stateDir: string;
  /** The environment every CLI run of the tour gets. */
  env: Record<string, string>;
  remove(): void;
}

export const DEMO_CONTEXT = 'demo';
/** The operator the tour runs as, and the second person who approves. */
export const DEMO_OPERATOR = 'alice';
export const SECOND_OPERATOR = 'bob';
export const DEMO_USER = 'operator';

/** An Ed25519 key pair in OpenSSH format. */
export function generateKeyPair(comment: string): KeyPair {
  for (;;) {
    const k = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    // ssh2 drops a leading zero byte of the public key (about 1 key in 256):
    // such a line is 31 bytes and the allowlist rightly refuses it. Draw again.
    const blob = Buffer.from(k.public.trim().split(/\s+/)[1] ?? '', 'base64');
    if (blob.length === 4 + 11 + 4 + 32) return { privateKey: k.private, publicKey: k.public.trim() };
  }
}

// Only what the CLI needs from the caller's environment: never an agent, a
// context or a config of theirs.
const PASS_THROUGH = ['PATH', 'TERM', 'LANG', 'LC_ALL', 'NO_COLOR', 'FORCE_COLOR', 'NODE_EXTRA_CA_CERTS', 'SYSTEMROOT', 'TMPDIR'];

export function createWorkspace(): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-'));
  fs.chmodSync(dir, 0o700);
  const p = (...parts: string[]) => path.join(dir, ...parts);
  const key = (name: string, file: string) => {
    const pair = generateKeyPair(name);
    fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
    fs.writeFileSync(`${file}.pub`, pair.publicKey + '\n', { mode: 0o644 });
    return pair;
  };
  const operatorKeyFile = p('operator_ed25519');
  const operator = key(DEMO_OPERATOR, operatorKeyFile);
  // bob lives in a directory of his own: another person's machine.
  fs.mkdirSync(p(SECOND_OPERATOR), { mode: 0o700 });
  const secondKeyFile = p(SECOND_OPERATOR, 'id_ed25519');
  const secondKeys = key(SECOND_OPERATOR, secondKeyFile);
  const allowlistFile = p('authorized_keys');
  fs.writeFileSync(allowlistFile, `role="admin" ${operator.publicKey}\nrole="admin" ${secondKeys.publicKey}\n`, { mode: 0o600 });
  const envIn = (base: string[]): Record<string, string> => {
    for (const d of ['home', 'config', 'cache', 'state', 'run']) fs.mkdirSync(p(...base, d), { mode: 0o700 });
    const env: Record<string, string> = {};
    for (const k of PASS_THROUGH) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    return Object.assign(env, {
      HOME: p(...base, 'home'),
      XDG_CONFIG_HOME: p(...base, 'config'),
      XDG_CACHE_HOME: p(...base, 'cache'),
      XDG_STATE_HOME: p(...base, 'state'),
      XDG_RUNTIME_DIR: p(...base, 'run'),
      OPSCTL_CONFIG: p(...base, 'config', 'opsctl', 'config.yaml'),
    });
  };
  fs.mkdirSync(p('service'), { mode: 0o700 });
  const env = envIn([]);
  const secondEnv = envIn([SECOND_OPERATOR]);
  return {
    dir,
    operatorKeyFile,
    operator,
    second: {
      name: SECOND_OPERATOR,
      keyFile: secondKeyFile,
      keys: secondKeys,
      configFile: secondEnv.OPSCTL_CONFIG!,
      cacheDir: secondEnv.XDG_CACHE_HOME!,
      stateDir: secondEnv.XDG_STATE_HOME!,
      env: secondEnv,
    },
    allowlistFile,
    knownHostsFile: p('known_hosts'),
    dataDir: p('service'),
    serviceLog: p('service.log'),
    configFile: env.OPSCTL_CONFIG!,
    cacheDir: p('cache'),
    stateDir: p('state'),
    env,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
