// Host specs and ~/.ssh/config resolution (HostName, User, Port,
// IdentityFile, ProxyJump) as OpenSSH does it, then a real connection made
// from nothing but aliases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HopSpecError } from '../../src/cli/ssh-config/hop-spec-error.js';
import { parseChain, parseHopSpec, resolveHop, resolveRoute } from '../../src/cli/ssh-config/resolve.js';
import { openTunnel } from '../../src/cli/transport/connect.js';
import { requireSshd, startSshd, TEST_USER } from '../helpers/sshd.js';
import { echoServer, fileIdentity, tempDir } from './fixtures/route.js';

const env = { HOME: '/home/op', USER: 'op' };

test('hop specs: user, host, port, IPv6, ssh://, and clear errors', () => {
  assert.deepEqual(parseHopSpec('bastion'), { host: 'bastion' });
  assert.deepEqual(parseHopSpec('ops@bastion:2222'), { user: 'ops', host: 'bastion', port: 2222 });
  assert.deepEqual(parseHopSpec('[::1]:2200'), { host: '::1', port: 2200 });
  assert.deepEqual(parseHopSpec('ops@[fe80::1]'), { user: 'ops', host: 'fe80::1' });
  assert.deepEqual(parseHopSpec('fe80::1'), { host: 'fe80::1' });
  assert.deepEqual(parseHopSpec('ssh://a@b:23'), { user: 'a', host: 'b', port: 23 });
  for (const bad of ['', 'host:0', 'host:65536', 'host:x', '@host', 'ops@', 'a b', '-oProxyCommand=x']) {
    assert.throws(() => parseHopSpec(bad), HopSpecError, bad);
  }
});

test('ssh config: HostName (%h), User, Port, IdentityFile (~, %d, %r), ProxyJump; first value wins; spec overrides', () => {
  const tmp = tempDir();
  try {
    const cfg = tmp.file(
      'config',
      [
        'Host prod-bastion',
        '  HostName bastion.prod.example',
        '  User jump',
        '  Port 2222',
        '',
        'Host svc-*',
        '  HostName %h.internal',
        '  ProxyJump prod-bastion',
        '  IdentityFile ~/.ssh/%r_ed25519',
        '  User svcuser',
        '',
        'Host *',
        '  User fallback',
        '  Port 22',
        '  IdentityFile %d/.ssh/id_default',
      ].join('\n'),
    );
    const b = resolveHop('prod-bastion', { sshConfigPath: cfg, env });
    assert.deepEqual(b, { name: 'prod-bastion', host: 'bastion.prod.example', port: 2222, user: 'jump', identityFile: '/home/op/.ssh/id_default' });
    const s = resolveHop('svc-api', { sshConfigPath: cfg, env });
    assert.equal(s.host, 'svc-api.internal');
    assert.equal(s.user, 'svcuser');
    assert.equal(s.port, 22);
    assert.equal(s.identityFile, '/home/op/.ssh/svcuser_ed25519');
    assert.deepEqual(s.proxyJump, ['prod-bastion']);
    const o = resolveHop('root@svc-api:2200', { sshConfigPath: cfg, env });
    assert.equal(o.user, 'root');
    assert.equal(o.port, 2200);
    assert.equal(o.identityFile, '/home/op/.ssh/root_ed25519');
    const plain = resolveHop('elsewhere', { sshConfigPath: cfg, env });
    assert.deepEqual(plain, { name: 'elsewhere', host: 'elsewhere', port: 22, user: 'fallback', identityFile: '/home/op/.ssh/id_default' });
    const none = resolveHop('x', { sshConfigPath: tmp.file('missing-dir/none'), env });
    assert.deepEqual(none, { name: 'x', host: 'x', port: 22, user: 'op' });

    assert.deepEqual(parseChain('prod-bastion, b2@h:3', { sshConfigPath: cfg, env }).map((h) => `${h.user}@${h.host}:${h.port}`), [
      'jump@bastion.prod.example:2222',
      'b2@h:3',
    ]);
    const route = resolveRoute('svc-api', undefined, { sshConfigPath: cfg, env });
    assert.deepEqual(route.bastions.map((h) => h.name), ['prod-bastion']);
    const explicit = resolveRoute('svc-api', 'other', { sshConfigPath: cfg, env });
    assert.deepEqual(explicit.bastions.map((h) => h.name), ['other'], '--bastion wins over ProxyJump');
  } finally {
    tmp.remove();
  }
});

test('ProxyJump of a jump host is followed, loops are caught', () => {
  const tmp = tempDir();
  try {
    const cfg = tmp.file('config', ['Host inner', '  ProxyJump outer', 'Host svc', '  ProxyJump inner', 'Host loop1', '  ProxyJump loop2', 'Host loop2', '  ProxyJump loop1'].join('\n'));
    assert.deepEqual(resolveRoute('svc', undefined, { sshConfigPath: cfg, env }).bastions.map((h) => h.name), ['outer', 'inner']);
    assert.throws(() => resolveRoute('loop1', undefined, { sshConfigPath: cfg, env }), /loop/);
  } finally {
    tmp.remove();
  }
});

test('a real connection made from ssh config aliases alone (HostName, Port, User, ProxyJump)', async (t) => {
  if (requireSshd(t)) return;
  const tmp = tempDir();
  const { key, identity } = await fileIdentity(tmp);
  const [b, h, web] = await Promise.all([startSshd({ authorizedKeys: [key.publicKeyLine] }), startSshd({ authorizedKeys: [key.publicKeyLine] }), echoServer()]);
  try {
    const cfg = tmp.file(
      'config',
      [
        'Host jump',
        `  HostName 127.0.0.1`,
        `  Port ${b.port}`,
        `  User ${TEST_USER}`,
        'Host app',
        '  HostName 127.0.0.1',
        `  Port ${h.port}`,
        `  User ${TEST_USER}`,
        '  ProxyJump jump',
      ].join('\n'),
    );
    const route = resolveRoute('app', undefined, { sshConfigPath: cfg, env: { HOME: tmp.dir, USER: 'nobody-here' } });
    const kh = tmp.file('known_hosts', `${b.knownHostsLine}\n${h.knownHostsLine}\n`);
    const tunnel = await openTunnel({ ...route, internalPort: web.port, knownHostsFiles: [kh], timeoutMs: 5000 }, identity);
    try {
      assert.deepEqual(tunnel.hops.map((x) => x.hop.name), ['jump', 'app']);
      assert.equal((await tunnel.request({ method: 'GET', path: '/alias', headers: {} })).status, 200);
    } finally {
      await tunnel.close();
    }
  } finally {
    await Promise.all([b.stop(), h.stop(), web.close()]);
    tmp.remove();
  }
});
