/**
 * Test harness: a real OpenSSH ssh-agent on its own socket. Keys are added
 * through `ssh-add -` (stdin), so no key file is written for them.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SshAgent {
  socket: string;
  pid: number;
  /** Adds an OpenSSH private key (text) to the agent. */
  add(privateKeyText: string): void;
  /** `ssh-add -L` output lines. */
  list(): string[];
  stop(): Promise<void>;
}

/** Why ssh-agent cannot run here, or null. */
export function sshAgentMissing(): string | null {
  if (spawnSync('ssh-agent', ['-h'], { stdio: 'ignore' }).error) return 'ssh-agent is not installed (openssh-client)';
  if (spawnSync('ssh-add', ['-h'], { stdio: 'ignore' }).error) return 'ssh-add is not installed (openssh-client)';
  return null;
}

export async function startSshAgent(): Promise<SshAgent> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-agent-'));
  const socket = path.join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error('ssh-agent did not create its socket');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const env = { ...process.env, SSH_AUTH_SOCK: socket };
  return {
    socket,
    pid: child.pid!,
    add(privateKeyText) {
      const r = spawnSync('ssh-add', ['-q', '-'], { input: privateKeyText, env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ssh-add failed: ${r.stderr}`);
    },
    list() {
      const r = spawnSync('ssh-add', ['-L'], { env, encoding: 'utf8' });
      return r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean) : [];
    },
    async stop() {
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
