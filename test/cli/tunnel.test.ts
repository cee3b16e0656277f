/**
 * `opsctl tunnel`: holds one connection open and serves it on the context's
 * private socket (and optionally a loopback TCP port); later commands for the
 * context find the socket and go through it. The held connection here is a
 * direct TCP tunnel to a real internal port; reuse, forwarding and signing
 * are the real thing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { fileHarness } from '../helpers/cli-harness.js';
import { run as tunnel } from '../../src/cli/commands/tunnel/tunnel.js';
import { reportError } from '../../src/cli/errors/exit-code.js';

const h = fileHarness();

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

test('tunnel serves the context socket and a loopback port; commands reuse it; Ctrl-C closes it and removes the socket', async () => {
  const bench = h.factory();
  const ac = new AbortController();
  let where: { socket?: string; tcp?: string } = {};
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = tunnel(bench.f, { listen: '127.0.0.1:0', interrupt: ac.signal, onReady: (w) => { where = w; ready(); } });
  await isReady;
  assert.ok(where.socket && fs.statSync(where.socket).isSocket());
  assert.equal(fs.statSync(where.socket).mode & 0o777, 0o600);
  assert.match(bench.io.stderr(), /tunnel open: svc\.test → 127\.0\.0\.1:\d+/);
  assert.match(bench.io.stderr(), /commands for context "test" now go through it/);
  const held = bench.tunnel()!;

  // A later command for the same context goes through the held connection.
  const before = held.channelsOpened;
  const r = await h.run(['-o', 'json', 'health'], { realTunnel: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().service, 'cli-test');
  assert.ok(held.channelsOpened > before, 'the request used a channel of the held tunnel');

  // The TCP forward reaches the internal port, which still demands signatures.
  const port = Number(where.tcp!.split(':').pop());
  assert.equal(await get(port, '/v1/health'), 401);

  // A second tunnel for the same context refuses.
  const second = await h.run(['tunnel'], { realTunnel: true });
  assert.equal(second.code, 1);
  assert.match(second.stderr, /a tunnel for context "test" is already open/);

  ac.abort();
  await done; // Ctrl-C is the normal way out: no error
  assert.match(bench.io.stderr(), /tunnel closed/);
  assert.ok(!fs.existsSync(where.socket), 'socket removed on close');
  await bench.close();
});

test('when the held connection dies the tunnel command ends with exit 5', async () => {
  const bench = h.factory();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = tunnel(bench.f, { onReady: () => ready() });
  await isReady;
  await bench.tunnel()!.close();
  const err = await done.then(() => undefined, (e: unknown) => e);
  assert.equal(reportError(err).exitCode, 5);
  assert.match(reportError(err).message, /the connection behind the tunnel is gone/);
  await bench.close();
});

test('without a context it needs --listen', async () => {
  const r = await h.run(['--host', 'svc.test', '--identity', 'keychain:x', 'tunnel'], { env: { OPSCTL_CONFIG: `${h.dir}/none.yaml` } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /tunnel needs a context/);
});
