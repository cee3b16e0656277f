/**
 * A real rsyslogd (Debian's package) for audit-shipping tests: its own
 * config, pid file and work dir in a temp dir, listening on a loopback port
 * (UDP, TCP or both), writing each message's MSG part alone to a file. Under
 * CI a missing rsyslogd is a failure; elsewhere the test skips.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export function requireRsyslog(t: TestContext): boolean {
  if (fs.existsSync(RSYSLOGD)) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${RSYSLOGD} is missing (apt-get install rsyslog; see .ci/run)`);
  t.skip('rsyslogd is not installed');
  return true;
}

export interface Rsyslog {
  dir: string;
  /** Where the received messages go, one MSG per line. */
  output: string;
  port: number;
  start(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Lines received so far. */
  lines(): string[];
  /** Waits until `pred(lines)` holds (or throws after timeoutMs). */
  waitFor(pred: (lines: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  remove(): Promise<void>;
}

export function rsyslog(opts: { port: number; protocol: 'udp' | 'tcp' }): Rsyslog {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-rsyslog-'));
  const work = path.join(dir, 'work');
  fs.mkdirSync(work);
  const output = path.join(dir, 'received.log');
  const conf = path.join(dir, 'rsyslog.conf');
  const pidFile = path.join(dir, 'rsyslogd.pid');
  const input = opts.protocol === 'udp'
    ? `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${opts.port}")`
    : `module(load="imtcp")\ninput(type="imtcp" address="127.0.0.1" port="${opts.port}")`;
  fs.writeFileSync(conf, [
    `global(workDirectory="${work}" maxMessageSize="64k")`,
    input,
    'template(name="msgonly" type="string" string="%msg%\\n")',
    `action(type="omfile" file="${output}" template="msgonly" flushOnTXEnd="on" asyncWriting="off")`,
    '',
  ].join('\n'));
  let proc: ChildProcess | undefined;
  let stderr = '';
  const lines = () => (fs.existsSync(output) ? fs.readFileSync(output, 'utf8').split('\n').filter(Boolean) : []);
  const r: Rsyslog = {
    dir,
    output,
    port: opts.port,
    async start() {
      proc = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', pidFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      // Listening once its pid file exists (it writes it after opening the inputs).
      const until = Date.now() + 10_000;
      while (!fs.existsSync(pidFile)) {
        if (proc.exitCode !== null) throw new Error(`rsyslogd exited ${proc.exitCode}: ${stderr}`);
        if (Date.now() > until) throw new Error(`rsyslogd did not start: ${stderr}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      await new Promise((res) => setTimeout(res, 200));
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((res) => p.once('exit', res));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(pidFile, { force: true });
    },
    lines,
    async waitFor(pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const l = lines();
        if (pred(l)) return l;
        if (Date.now() > until) throw new Error(`rsyslog received ${l.length} line(s), not what was expected; stderr: ${stderr}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async remove() {
      await r.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}
