/**
 * The setup of the approvals end-to-end tests (test/e2e/approvals*.test.ts):
 * three operators' keys (alice and bob, both admins, and vera, a viewer),
 * each with their own HOME, a real OpenSSH sshd as the service host, the demo
 * service (one approval for migrations.down and purge-cancelled-orders,
 * break-glass allowed), and CLI runs as each of them.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ensureBuilt, privateHome, runCli, type CliResult } from './stack.js';
import { startSshd, requireSshd, TEST_USER, type Sshd } from './sshd.js';
import { startDemoService, type DemoService } from './demo-service.js';
import { generateKeyPair, type TestKey } from './keys.js';
import { requireTmux } from './tmux.js';

export interface Operator {
  key: TestKey;
  env: Record<string, string>;
  dir: string;
}

export interface ApprovalsStack {
  readonly skipped: boolean;
  readonly svc: DemoService;
  readonly ops: Record<'alice' | 'bob' | 'vera', Operator>;
  startService(extraArgs?: string[], dataDir?: string): Promise<DemoService>;
  conn(who: Operator, service?: DemoService): string[];
  cli(who: Operator, args: string[], service?: DemoService): Promise<CliResult>;
  audit(service?: DemoService): Array<Record<string, any>>;
  pendingId(service?: DemoService, timeoutMs?: number): Promise<string>;
  applied(service?: DemoService): Promise<string[]>;
}

/** Registers before/after hooks that start and stop the stack; use its members inside tests. */
export function approvalsStack(): ApprovalsStack {
  let sshd: Sshd | undefined;
  let svc: DemoService | undefined;
  let knownHosts = '';
  let skipped = false;
  const ops = {} as Record<'alice' | 'bob' | 'vera', Operator>;
  const allowlist = () => `${ops.alice.key.authorizedKeysLine('admin')}\n${ops.bob.key.authorizedKeysLine('admin')}\n${ops.vera.key.authorizedKeysLine('viewer')}\n`;
  const s: ApprovalsStack = {
    get skipped() { return skipped; },
    get svc() { return svc!; },
    ops,
    startService: (extraArgs = [], dataDir) => startDemoService({ authorizedKeys: allowlist(), extraArgs, ...(dataDir ? { dataDir } : {}) }),
    conn: (who, service = svc!) => ['--host', `${TEST_USER}@127.0.0.1:${sshd!.port}`, '--port', String(service.internal.port), '--identity', who.key.privatePath, '--known-hosts', knownHosts],
    cli: (who, args, service) => runCli([...s.conn(who, service), ...args], who.env, { timeoutMs: 90_000 }),
    audit: (service = svc!) => fs.readFileSync(service.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>),
    async pendingId(service = svc!, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await s.cli(ops.bob, ['-o', 'json', 'approvals', 'list', '--state', 'pending'], service);
        assert.equal(r.code, 0, r.stderr);
        const list = JSON.parse(r.stdout).approvals as Array<{ id: string }>;
        if (list.length) return list[0]!.id;
        if (Date.now() > deadline) throw new Error('no pending approval appeared');
        await new Promise((res) => setTimeout(res, 200));
      }
    },
    async applied(service = svc!) {
      const r = await s.cli(ops.vera, ['-o', 'json', 'migrate', 'status'], service);
      return (JSON.parse(r.stdout).applied as Array<{ name: string } | string>).map((m) => (typeof m === 'string' ? m : m.name));
    },
  };
  before(async (t) => {
    if (requireSshd(t as unknown as TestContext) || requireTmux(t as unknown as TestContext)) {
      skipped = true;
      return;
    }
    ensureBuilt();
    for (const name of ['alice', 'bob', 'vera'] as const) {
      const { dir, env } = privateHome(`opsctl-approvals-${name}-`);
      ops[name] = { key: generateKeyPair(name, { dir }), env, dir };
    }
    sshd = await startSshd({ authorizedKeys: Object.values(ops).map((o) => o.key.publicLine) });
    knownHosts = path.join(ops.alice.dir, 'known_hosts');
    fs.writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`, { mode: 0o600 });
    svc = await s.startService();
  });
  after(async () => {
    await svc?.stop();
    await sshd?.stop();
    for (const o of Object.values(ops)) fs.rmSync(o.dir, { recursive: true, force: true });
  });
  return s;
}
