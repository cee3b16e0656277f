import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInternalPort, type InternalPortOptions } from '../../src/server/index.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';
import { startHarness, tempDir } from './fixtures/harness.js';

function baseOptions(dir: string, allowlist: string): InternalPortOptions {
  return { service: { name: 's', version: '1' }, authorizedKeysFile: allowlist, auditLogFile: path.join(dir, 'audit.jsonl'), log: () => undefined };
}

test('a 2 MiB body gets 413 request.too_large (declared or chunked) and the server carries on', async () => {
  const h = await startHarness({ flags: { definitions: [{ name: 'motd', type: 'string', default: '', description: 'message' }] } });
  try {
    const big = { value: 'x'.repeat(2 * 1024 * 1024) };
    const r = await h.operator.call('flags.set', { name: 'motd', ...big });
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 'request.too_large');
    const chunked = await h.operator.send('PUT', '/v1/flags/motd', { body: big, tamper: (p) => { delete p.headers['content-length']; } });
    assert.equal(chunked.status, 413);
    const unsigned = await h.operator.send('PUT', '/v1/flags/motd', { body: big, unsigned: true });
    assert.equal(unsigned.status, 413, 'refused before anything else');
    assert.equal((await h.viewer.call('flags.get', { name: 'motd' })).json.value, '');
    const ok = await h.operator.call('flags.set', { name: 'motd', value: 'y'.repeat(1000) });
    assert.equal(ok.status, 200);
  } finally {
    await h.close();
  }
});

test('Expect: 100-continue with an oversized body is refused before the body is sent', async () => {
  const h = await startHarness();
  try {
    const prepared = await h.operator.prepare('PUT', '/v1/flags/x', { body: { value: 'x'.repeat(2 * 1024 * 1024) } });
    const sock = net.connect(h.port.port!, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const head = Object.entries({ ...prepared.headers, host: '127.0.0.1', expect: '100-continue' }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    sock.write(`PUT /v1/flags/x HTTP/1.1\r\n${head}\r\n\r\n`);
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (c) => { buf += c.toString(); });
      sock.on('close', () => resolve(buf));
    });
    assert.match(answer, /^HTTP\/1\.1 413/, 'no "100 Continue" first');
    assert.match(answer, /"code":"request.too_large"/);
    const small = await h.operator.send('PUT', '/v1/flags/x', { body: { value: true }, headers: { expect: '100-continue' } });
    assert.equal(small.status, 404, 'a small body is invited and processed (no such flag)');
  } finally {
    await h.close();
  }
});

test('a GET with a body, and a body that is not an object, are 400', async () => {
  const h = await startHarness();
  try {
    const get = await h.viewer.send('GET', '/v1/health', { body: { a: 1 } });
    assert.equal(get.status, 400);
    const arr = await h.operator.send('POST', '/v1/jobs/abc/cancel', { body: [1, 2] });
    assert.equal(arr.status, 400);
    assert.equal(arr.json.code, 'request.invalid');
    assert.ok(!('stack' in arr.json));
  } finally {
    await h.close();
  }
});

test('slow headers are cut off by headersTimeoutMs', async () => {
  const h = await startHarness({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
  try {
    const sock = net.connect(h.port.port!, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (c) => { buf += c.toString(); });
      sock.on('close', () => resolve(buf));
    });
    assert.ok(Date.now() - started < 3000, 'closed promptly');
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"code":"timeout"/);
  } finally {
    await h.close();
  }
});

test('binding anywhere but loopback is refused with a message naming loopback', async () => {
  const dir = tempDir();
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const lan = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '10.1.2.3';
    for (const host of ['0.0.0.0', '::', lan, 'example.com']) {
      await assert.rejects(createInternalPort({ ...baseOptions(dir, allow), host }), (e: Error) => /loopback/.test(e.message), host);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'audit.jsonl')), 'refused before touching anything');
    const forced = await createInternalPort({ ...baseOptions(dir, allow), host: '0.0.0.0', allowNonLoopback: true });
    assert.ok(forced.port! > 0);
    await forced.close();
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost']) {
      const p = await createInternalPort({ ...baseOptions(dir, allow), host });
      const r = await new SignedClient({ host: p.host!, port: p.port! }, key).call('health');
      assert.equal(r.status, 200, host);
      await p.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('::1 works when the host has IPv6 loopback', async (t) => {
  const has6 = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(0, '::1', () => s.close(() => resolve(true)));
  });
  if (!has6) return t.skip('no IPv6 loopback on this host');
  const dir = tempDir();
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key]]);
    const p = await createInternalPort({ ...baseOptions(dir, allow), host: '::1' });
    assert.match(p.address, /^\[::1\]:\d+$/);
    assert.equal((await new SignedClient({ host: '::1', port: p.port! }, key).call('health')).status, 200);
    await p.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing, empty or unusable allowlist refuses to start, naming the file', async () => {
  const dir = tempDir();
  try {
    const allow = path.join(dir, 'authorized_keys');
    await assert.rejects(createInternalPort(baseOptions(dir, allow)), (e: Error) => e.message.includes(allow));
    fs.writeFileSync(allow, '');
    await assert.rejects(createInternalPort(baseOptions(dir, allow)), (e: Error) => e.message.includes(allow) && /empty|no usable/.test(e.message));
    fs.writeFileSync(allow, '# only a comment\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 x\ngarbage\n');
    await assert.rejects(createInternalPort(baseOptions(dir, allow)), (e: Error) => e.message.includes(allow));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a unix socket is created 0600, replaces a stale socket, never a regular file', async () => {
  const dir = tempDir();
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'operator']]);
    const socketPath = path.join(dir, 'internal.sock');
    // A stale socket left by a crashed process (SIGKILL: no cleanup).
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout!.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(fs.existsSync(socketPath));

    const p = await createInternalPort({ ...baseOptions(dir, allow), socketPath });
    assert.equal(p.address, socketPath);
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
    const r = await new SignedClient({ socketPath }, key).call('health');
    assert.equal(r.status, 200);
    await assert.rejects(createInternalPort({ ...baseOptions(dir, allow), auditLogFile: path.join(dir, 'a2.jsonl'), socketPath }), /in use/);
    await p.close();
    assert.ok(!fs.existsSync(socketPath), 'removed on close');

    const regular = path.join(dir, 'not-a-socket');
    fs.writeFileSync(regular, 'precious');
    await assert.rejects(createInternalPort({ ...baseOptions(dir, allow), socketPath: regular }), /not a socket/);
    assert.equal(fs.readFileSync(regular, 'utf8'), 'precious');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a port already in use refuses the start with InternalPortConfigError naming it, before anything is written', async () => {
  const dir = tempDir('opsctl-inuse-');
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const key = makeKey(dir, 'k');
    const allow = path.join(dir, 'authorized_keys');
    writeAllowlist(allow, [[key, 'admin']]);
    const data = path.join(dir, 'data');
    const options = { ...baseOptions(data, allow), port };
    await assert.rejects(createInternalPort(options), (e: Error) => {
      assert.equal(e.name, 'InternalPortConfigError');
      assert.match(e.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: it is already in use`));
      return true;
    });
    assert.equal(fs.existsSync(data), false, 'no data dir, audit log, signing key or store was created');
    // A data dir that exists already is left exactly as it was.
    fs.mkdirSync(data, { mode: 0o700 });
    await assert.rejects(createInternalPort(options), /already in use/);
    assert.deepEqual(fs.readdirSync(data), [], 'nothing left behind');
    // Once the port is free the same options start, and the audit log is where it should be.
    await new Promise<void>((r) => taken.close(() => r()));
    const p = await createInternalPort(options);
    await p.close();
    assert.ok(fs.existsSync(path.join(data, 'audit.jsonl')));
  } finally {
    if (taken.listening) taken.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
