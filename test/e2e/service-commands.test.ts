/**
 * Service commands end to end: the built CLI through a real OpenSSH sshd to
 * the real demo service, whose own endpoints orders.list and orders.cancel
 * (examples/demo-service/ops/orders-endpoints.ts) become `opsctl orders
 * list` and `opsctl orders cancel` once `opsctl endpoints` cached the
 * catalog: typed options, the noun alone, confirmation, a second person's
 * approval, dry-run, -o json and exit codes as `opsctl call` has them; and
 * TAB in real bash, fish and zsh offering them from the cache alone.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runCli } from '../helpers/stack.js';
import { approvalsStack, type Operator } from '../helpers/approvals-stack.js';
import { startZsh } from '../helpers/tmux.js';
import { COMPLETION_FILES } from '../../src/cli/man/generate-docs.js';

const st = approvalsStack();
const { ops } = st;
const cli = st.cli;
const ci = process.env.CI === 'true' || process.env.CI === '1';
const flat = (s: string) => s.replace(/\s+/g, ' ');

async function publicApi(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://${st.svc.public.host}:${st.svc.public.port}${route}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, body: await res.json() };
}

/** `opsctl` on PATH for the shells: the built CLI, in this operator's HOME. */
function shellEnv(who: Operator): Record<string, string> {
  const bin = path.join(who.dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'opsctl'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/opsctl.js')}" "$@"\n`, { mode: 0o755 });
  return { ...who.env, PATH: `${bin}:${who.env.PATH}` };
}

function need(t: TestContext, bin: string): boolean {
  if (!spawnSync(bin, ['--version'], { stdio: 'ignore' }).error) return false;
  if (ci) throw new Error(`CI: ${bin} is not installed`);
  t.skip(`${bin} is not installed`);
  return true;
}

test('the demo\'s own endpoints as commands: cached by opsctl endpoints, typed, confirmed, approved by a second person, dry-run, exit codes', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  const { alice, bob, vera } = ops;
  const unknown = await cli(alice, ['orders', 'list']);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /unknown command "orders"/);
  assert.match(flat((await runCli(['--help'], alice.env)).stdout), /once its catalog is cached for commands run without a context; any command that fetches the catalog caches it, e\.g\. opsctl endpoints\./);

  assert.equal((await cli(alice, ['migrate', 'up', '--yes'])).code, 0);
  const eps = await cli(alice, ['endpoints']);
  assert.equal(eps.code, 0, eps.stderr);
  const help = (await runCli(['--help'], alice.env)).stdout;
  assert.match(help, /Service commands:\n {2}orders +demo-orders endpoints: stats, list, cancel\n/);
  assert.match(flat(help), /The service commands come from the catalog of demo-orders 1\.0\.0 cached for commands run without a context at /);

  const ids: number[] = [];
  for (const item of ['red', 'green', 'blue']) {
    const r = await publicApi('POST', '/orders', { item, quantity: 1, unitPrice: 10 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id as number);
  }
  const list = await cli(alice, ['-o', 'json', 'orders', 'list', '--status', 'open', '--limit', '2']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).orders.map((o: { item: string }) => o.item), ['blue', 'green']);
  const alone = await cli(alice, ['-o', 'json', 'orders']);
  assert.equal(alone.code, 0, alone.stderr);
  assert.equal(JSON.parse(alone.stdout).orders.length, 3, 'the noun alone runs orders list');
  const bad = await cli(alice, ['orders', 'list', '--status', 'closed']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Allowed choices are open, cancelled/);
  const typed = await cli(alice, ['orders', 'cancel', '--id', 'two', '--yes']);
  assert.equal(typed.code, 2);
  assert.match(typed.stderr, /--id: expected an integer, got "two"/);

  // Destructive: no TTY and no --yes → refused, nothing held.
  const refused = await cli(alice, ['orders', 'cancel', '--id', String(ids[0])]);
  assert.equal(refused.code, 4, refused.stderr);
  // Held for a second person, as call would be.
  const held = await cli(alice, ['-o', 'json', '--reason', 'customer asked', 'orders', 'cancel', '--id', String(ids[0]), '--yes', '--no-wait']);
  assert.equal(held.code, 0, held.stderr);
  const approval = JSON.parse(held.stdout).approval;
  assert.equal(approval.endpoint, 'orders.cancel');
  assert.match(held.stderr, new RegExp(`a second person runs:\\s+opsctl approvals approve ${approval.id}`));
  assert.equal((await publicApi('GET', `/orders/${ids[0]}`)).body.status, 'open', 'nothing ran yet');
  const self = await cli(alice, ['approvals', 'approve', approval.id, '--yes']);
  assert.equal(self.code, 3, 'the requester cannot approve');
  const ok = await cli(bob, ['approvals', 'approve', approval.id, '--yes']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await publicApi('GET', `/orders/${ids[0]}`)).body.status, 'cancelled', 'the approved request ran');

  // Dry-run: checked by the server, nothing applied, nothing held.
  const dry = await cli(alice, ['--dry-run', 'orders', 'cancel', '--id', String(ids[1])]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal((await publicApi('GET', `/orders/${ids[1]}`)).body.status, 'open');
  // Exit codes: a conflict is 6 (-o json names the server's code), a viewer is 3.
  const again = await cli(alice, ['-o', 'json', 'orders', 'cancel', '--id', String(ids[0]), '--yes', '--break-glass', 'already done?']);
  assert.equal(again.code, 6, again.stderr);
  assert.equal(JSON.parse(again.stderr.trim().split('\n').at(-1)!).error.code, 'order.cancelled');
  // Each operator's commands come from their own cache: vera has none until she fetches the catalog.
  assert.equal((await cli(vera, ['orders', 'cancel', '--id', String(ids[1]), '--yes'])).code, 2);
  assert.equal((await cli(vera, ['version'])).code, 0);
  assert.equal((await cli(vera, ['orders', 'cancel', '--id', String(ids[1]), '--yes'])).code, 3);
  // call reaches the same endpoint the same way.
  const call = await cli(alice, ['-o', 'json', 'call', 'orders.list', '--param', 'status=cancelled']);
  assert.deepEqual(JSON.parse(call.stdout).orders.map((o: { id: number }) => o.id), [ids[0]]);
});

test('TAB in bash, fish and zsh offers the service commands, their options and enum values from the cache, without connecting', async (t) => {
  if (st.skipped) return t.skip('no sshd/tmux');
  const env = shellEnv(ops.alice);
  // The commands exist only once cached: alice cached the catalog above.
  assert.ok(fs.existsSync(path.join(env.XDG_CACHE_HOME!, 'opsctl', '_adhoc.catalog.json')));
  if (!need(t, 'bash')) {
    const bash = (words: string[]) => {
      const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _opsctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', path.join(ROOT, COMPLETION_FILES.bash), ...words], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(bash(['opsctl', 'ord']), ['orders']);
    assert.deepEqual(bash(['opsctl', 'orders', '']), ['stats', 'list', 'cancel']);
    assert.deepEqual(bash(['opsctl', 'orders', 'list', '--status', '']), ['open', 'cancelled']);
    assert.ok(bash(['opsctl', 'orders', 'list', '--']).includes('--limit'));
  }
  if (!need(t, 'fish')) {
    const fish = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source ${JSON.stringify(path.join(ROOT, COMPLETION_FILES.fish))}; complete -C ${JSON.stringify(line)}`], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(fish('opsctl ord'), ['orders\tdemo-orders endpoints: stats, list, cancel']);
    assert.deepEqual(fish('opsctl orders ').map((l) => l.split('\t')[0]).sort(), ['cancel', 'list', 'stats']);
    assert.match(fish('opsctl orders ').find((l) => l.startsWith('cancel'))!, /\tCancel an order on behalf of a customer/);
    assert.deepEqual(fish('opsctl orders list --status ').map((l) => l.split('\t')[0]).sort(), ['cancelled', 'open']);
  }
  if (!need(t, 'zsh') && !need(t, 'tmux')) {
    const { send, screen, waitFor } = await startZsh(t, ops.alice.dir, path.join(ROOT, COMPLETION_FILES.zsh), env);
    send('opsctl ord', 'Tab');
    await waitFor(/^ZP> opsctl orders\s*$/m, '"opsctl orders "');
    send('C-u');
    send('opsctl orders list --status ', 'Tab');
    await waitFor(/cancelled/, 'the enum values');
    assert.match(screen(), /open/);
  }
});
