/**
 * The route an operator takes to opsctl-port in the end-to-end tests of the
 * shipped examples: three operator keys (alice and bob admins, vera a
 * viewer), two real OpenSSH sshd (bastion and service host), a private HOME,
 * and the real CLI (bin/opsctl.js) run through them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli, privateHome, type CliResult } from './stack.js';
import { generateKeyPair, type TestKey } from './keys.js';
import { sshdMissing, startSshd, TEST_USER, type Sshd } from './sshd.js';
import { copyExample, editYaml, tempDir } from './sidecar.js';

export type Operator = 'alice' | 'bob' | 'vera';

export interface SidecarRoute {
  keys: Record<Operator, TestKey>;
  /** Registers something to stop when the route is torn down (in reverse order). */
  onStop(stop: () => Promise<unknown>): void;
  /** The CLI as `who`, to the internal port on `port`, through the bastion. */
  opsctl(who: Operator, port: number, args: string[]): Promise<CliResult>;
  /** Copies an example into a temp dir, writes its allowlist (the three keys) and sets port 0. */
  example(name: string): string;
  stop(): Promise<void>;
}

/** Starts the route; sshd is left out (and opsctl() unusable) when it is missing: callers check requireSshd first. */
export async function startSidecarRoute(prefix: string): Promise<SidecarRoute> {
  const home = privateHome(prefix);
  const keys = { alice: generateKeyPair('alice', { dir: home.dir }), bob: generateKeyPair('bob', { dir: home.dir }), vera: generateKeyPair('vera', { dir: home.dir }) };
  const knownHosts = path.join(home.dir, 'known_hosts');
  const dirs = [home.dir];
  const stops: Array<() => Promise<unknown>> = [];
  let bastion: Sshd | undefined;
  let host: Sshd | undefined;
  if (!sshdMissing()) {
    const lines = Object.values(keys).map((k) => k.publicLine);
    host = await startSshd({ authorizedKeys: lines });
    stops.push(() => host!.stop());
    bastion = await startSshd({ authorizedKeys: lines });
    stops.push(() => bastion!.stop());
    fs.writeFileSync(knownHosts, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
  }
  return {
    keys,
    onStop: (s) => { stops.push(s); },
    opsctl: (who, port, args) => runCli([
      '--bastion', `${TEST_USER}@127.0.0.1:${bastion!.port}`,
      '--host', `${TEST_USER}@127.0.0.1:${host!.port}`,
      '--port', String(port),
      '--identity', keys[who].privatePath,
      '--known-hosts', knownHosts,
      ...args,
    ], home.env, { timeoutMs: 120_000 }),
    example: (name) => {
      const dir = copyExample(name, tempDir(`opsctl-e2e-${name}-`));
      dirs.push(dir);
      fs.writeFileSync(path.join(dir, 'opsctl_keys'), `${keys.alice.authorizedKeysLine('admin')}\n${keys.bob.authorizedKeysLine('admin')}\n${keys.vera.authorizedKeysLine('viewer')}\n`, { mode: 0o600 });
      editYaml(path.join(dir, 'opsctl-port.yaml'), (doc) => doc.set('port', 0));
      return dir;
    },
    stop: async () => {
      for (const s of stops.reverse()) await s().catch(() => undefined);
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
