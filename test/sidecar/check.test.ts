/**
 * `opsctl-port check` and `opsctl-port schema`, through the real bin: a
 * broken config exits 2 and names every problem with its YAML path and
 * line; a valid one exits 0; the schema printed is the one shipped
 * (schema/opsctl-port.schema.json) and every shipped example follows it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { validateAgainstSchema } from '../../src/sidecar/config/validate-schema.js';
import { EXAMPLES, ROOT, runOpsctlPort, tempDir } from '../helpers/sidecar.js';
import { makeKey, writeAllowlist } from '../helpers/signed-client.js';

let dir: string;
let sock: net.Server;

before(async () => {
  dir = tempDir();
  writeAllowlist(path.join(dir, 'keys'), [[makeKey(dir, 'alice'), 'admin']]);
  fs.writeFileSync(path.join(dir, 'token'), 's3cret-token\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'open-token'), 's3cret-token\n', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'open-token'), 0o644);
  sock = net.createServer((c) => c.end());
  await new Promise<void>((r) => sock.listen(path.join(dir, 'up.sock'), r));
});
after(() => {
  sock.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function check(name: string, yaml: string, args: string[] = []): ReturnType<typeof runOpsctlPort> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yaml);
  return runOpsctlPort(['check', '--config', file, ...args], { env: { OPSCTL_TEST_SET: 'yes' } });
}

const HEAD = `service: {name: demo, version: 1.0.0}
port: 0
authorizedKeys: ./keys
dataDir: ./data
`;

/** The problem line for a path: `FILE:LINE:COL: error: PATH: …`. */
function lineOf(stderr: string, file: string, p: string): number | undefined {
  const m = new RegExp(`${file.replace(/[.]/g, '\\.')}:(\\d+):\\d+: error: ${p.replace(/[.[\]]/g, (c) => `\\${c}`)}: `).exec(stderr);
  return m ? Number(m[1]) : undefined;
}

test('a broken config exits 2 and names every problem with its YAML path and line', () => {
  const yaml = `${HEAD}limits:
  bodyBytes: -5
endpoints:
  - id: lb.stat
    summary: show stat
    role: viewer
    socket:
      path: ./missing.sock
      command: "show stat {backend}"
  - id: edge.config
    summary: config
    role: operater
    http:
      upstream: http://10.0.0.1:2019
      path: /config/
      timeout: 10 parsecs
  - id: app.run
    summary: run
    role: admin
    exec:
      argv: [no-such-command-xyz, "{x}"]
      cwd: /nonexistent-dir
      user: no-such-user-xyz
    extra: 1
  - id: flags.mine
    summary: a standard family
    role: viewer
    http: {upstream: "unix:./up.sock", path: /x}
  - id: app.secret
    summary: secret on argv
    role: admin
    params:
      type: object
      properties:
        password: {type: string, secret: true}
    exec:
      argv: [/bin/true, "{password}"]
      env:
        set:
          TOKEN: {env: NOT_SET_ANYWHERE_XYZ}
  - id: app.token
    summary: a token readable by others
    role: viewer
    http:
      upstream: unix:./up.sock
      path: /x
      headers:
        authorization: {file: ./open-token}
  - id: app.nonloop
    summary: not loopback
    role: viewer
    http: {upstream: "http://192.0.2.1:80", path: /x}
  - id: app.run
    summary: same id again
    role: operator
    exec: {argv: [/bin/true]}
    method: GET
`;
  const r = check('broken.yaml', yaml);
  assert.equal(r.code, 2, r.stderr);
  const f = 'broken.yaml';
  const expect: Array<[string, number, RegExp]> = [
    ['limits.bodyBytes', 6, /must be >= 1/],
    ['endpoints[0].socket.path', 12, /missing\.sock does not exist/],
    ['endpoints[0].socket.command', 13, /\{backend\} in a socket command is not a declared param/],
    ['endpoints[1].role', 16, /must be one of: viewer, operator, admin/],
    ['endpoints[1].http.timeout', 20, /must be seconds/],
    ['endpoints[2].exec.argv[0]', 25, /"no-such-command-xyz" is not found in PATH/],
    ['endpoints[2].exec.argv[1]', 25, /\{x\} in argv is not a declared param/],
    ['endpoints[2].exec.cwd', 26, /does not exist/],
    ['endpoints[2].exec.user', 27, /user "no-such-user-xyz" does not exist/],
    ['endpoints[2].extra', 28, /unknown key "extra"/],
    ['endpoints[3].id', 29, /"flags\." is a standard endpoint family/],
    ['endpoints[4].exec.argv[1]', 41, /\{password\} is a secret param and cannot go into argv/],
    ['endpoints[4].exec.env.set.TOKEN.env', 44, /environment variable NOT_SET_ANYWHERE_XYZ is not set/],
    ['endpoints[5].http.headers.authorization.file', 52, /readable or writable by group or others/],
    ['endpoints[6].http.upstream', 56, /not on loopback/],
    ['endpoints[7].id', 57, /endpoint id app\.run is used twice/],
    ['endpoints[7].method', 61, /cannot be GET/],
  ];
  for (const [p, line, re] of expect) {
    assert.equal(lineOf(r.stderr, f, p), line, `${p} at line ${line} in:\n${r.stderr}`);
    assert.match(r.stderr.split('\n').find((l) => l.includes(`error: ${p}: `)) ?? '', re, p);
  }
  assert.match(r.stderr, /would not start with this config/);
  assert.doesNotMatch(r.stderr + r.stdout, /s3cret-token/, 'a secret never appears in a message');
});

test('schema problems come with hints: a typo names the key meant, a missing key its parent line', () => {
  const r = check('typo.yaml', `service: {name: demo, version: 1.0.0}\nport: 0\nauthorizedKeys: ./keys\ndataDir: ./data\nendpoints:\n  - id: a.b\n    sumary: x\n    role: viewer\n    http: {upstream: "unix:./up.sock", path: /}\n`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /typo\.yaml:7:5: error: endpoints\[0\]\.sumary: unknown key "sumary" \(did you mean "summary"\?\)/);
  assert.match(r.stderr, /typo\.yaml:6:5: error: endpoints\[0\]\.summary: "summary" is required here/);
  const syntax = check('syntax.yaml', 'service:\n  name: a\n  name: b\n');
  assert.equal(syntax.code, 2);
  assert.match(syntax.stderr, /syntax\.yaml:3:3: error: \(top level\): Map keys must be unique/);
});

test('migrations: commands that must take {target}, a regex that must name its groups', () => {
  const r = check('migrations.yaml', `${HEAD}migrations:
  status:
    argv: [/bin/echo]
    parse: {regex: '^(?<id>\\w+)'}
  up: {argv: [/bin/true]}
  down: {argv: [/bin/true, "{target}"]}
  progress: '(unclosed'
`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /migrations\.yaml:8:12: error: migrations\.status\.parse: the regex needs a named group \(\?<name>…\)/);
  assert.match(r.stderr, /migrations\.yaml:9:14: error: migrations\.up\.argv: the up command must take \{target\}/);
  assert.match(r.stderr, /migrations\.yaml:11:13: error: migrations\.progress: not a valid regular expression/);
});

test('a param inside the script of sh -c (or python -c, perl -e …) is refused: it would be code', () => {
  const r = check('shell.yaml', `${HEAD}endpoints:
  - id: app.greet
    summary: greet
    role: operator
    params: {type: object, properties: {who: {type: string}}, required: [who]}
    exec: {argv: [/bin/sh, -c, "echo hello {who}"]}
  - id: app.greet2
    summary: greet safely
    role: operator
    params: {type: object, properties: {who: {type: string}}, required: [who]}
    exec: {argv: [/bin/sh, -c, 'echo hello "$1"', sh, "{who}"]}
`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /shell\.yaml:10:32: error: endpoints\[0\]\.exec\.argv\[2\]: \{who\} inside the script of sh -c would be code, not data/);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes(': error: ')).length, 1, 'the positional-argument form is fine');
});

test('a valid config exits 0 and lists its endpoints; --json gives one document', () => {
  const yaml = `${HEAD}endpoints:
  - id: app.ping
    summary: ping
    role: viewer
    http: {upstream: "unix:./up.sock", path: /ping, headers: {authorization: {file: ./token}}}
  - id: app.restart
    summary: restart a worker
    role: operator
    destructive: true
    approval: {count: 1}
    params: {type: object, properties: {worker: {type: integer, minimum: 1}}, required: [worker]}
    exec: {argv: [/bin/echo, "restarting", "{worker}"], env: {set: {MARK: {env: OPSCTL_TEST_SET}}}}
`;
  const r = check('good.yaml', yaml);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /good\.yaml: ok — demo: 2 endpoint\(s\)/);
  assert.match(r.stdout, /app\.ping\s+GET\s+\/v1\/app\/ping\s+viewer \(http\)/);
  assert.match(r.stdout, /app\.restart\s+POST\s+\/v1\/app\/restart\s+operator, destructive, approval 1 \(exec\)/);
  const j = check('good.yaml', yaml, ['--json']);
  assert.equal(j.code, 0);
  assert.deepEqual(JSON.parse(j.stdout), { ok: true, file: path.join(dir, 'good.yaml'), problems: [] });
});

test('schema: what `opsctl-port schema` prints is the shipped file; the shipped examples follow it', () => {
  const r = runOpsctlPort(['schema']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, fs.readFileSync(path.join(ROOT, 'schema/opsctl-port.schema.json'), 'utf8'), 'schema/opsctl-port.schema.json drifted: run node scripts/gen-docs.mjs');
  const schema = JSON.parse(r.stdout);
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  for (const name of ['caddy', 'haproxy', 'python-app']) {
    const value = parse(fs.readFileSync(path.join(EXAMPLES, name, 'opsctl-port.yaml'), 'utf8'), { merge: true });
    assert.deepEqual(validateAgainstSchema(value), [], `examples/sidecar/${name}/opsctl-port.yaml follows the schema`);
  }
  assert.equal(runOpsctlPort(['--config']).code, 2);
  assert.equal(runOpsctlPort([]).code, 2);
  assert.match(runOpsctlPort(['--help']).stdout, /check \[options\]/);
});

test('notify: a bad section is refused at each line (URL, secret files, event types, names), and no URL or secret reaches a message', () => {
  fs.writeFileSync(path.join(dir, 'short.whsec'), 'whsec_c2hvcnQ=\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'slack-url'), 'https://hooks.slack.com/services/T0/B0/s3cret-slack\n', { mode: 0o600 });
  fs.chmodSync(path.join(dir, 'slack-url'), 0o644);
  const yaml = `${HEAD}notify:
  secret: {file: ./short.whsec}
  endpoints:
    - name: bus
      url: {env: OPSCTL_TEST_HOOK}
      events: [approval.*, approvals.requested]
    - kind: slack
      url: {env: OPSCTL_TEST_HOOK}
    - name: bus
      url: {file: ./slack-url}
      secret: {file: ./open-token}
`;
  const file = path.join(dir, 'notify.yaml');
  fs.writeFileSync(file, yaml);
  const r = runOpsctlPort(['check', '--config', file], { env: { OPSCTL_TEST_HOOK: 'ftp://hooks.example/t0k3n-in-url' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /notify\.yaml:6:18: error: notify\.secret\.file: file \S+short\.whsec holds 5 bytes; a whsec_ secret has 24 to 64/);
  assert.match(r.stderr, /notify\.yaml:9:12: error: notify\.endpoints\[0\]\.url: env OPSCTL_TEST_HOOK: only http and https URLs are delivered to/);
  assert.match(r.stderr, /notify\.yaml:10:28: error: notify\.endpoints\[0\]\.events\[1\]: unknown event type "approvals\.requested"/);
  assert.match(r.stderr, /notify\.yaml:12:18: error: notify\.endpoints\[1\]\.url\.env: a Slack incoming-webhook URL is read from a file/);
  assert.match(r.stderr, /notify\.yaml:13:13: error: notify\.endpoints\[2\]\.name: endpoints\[0\] has this name too/);
  assert.match(r.stderr, /notify\.yaml:14:19: error: notify\.endpoints\[2\]\.url\.file: secret file \S+slack-url is readable or writable by group or others/);
  assert.match(r.stderr, /notify\.yaml:15:22: error: notify\.endpoints\[2\]\.secret\.file: secret file \S+open-token is readable or writable by group or others/);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes(': error: ')).length, 7, r.stderr);
  assert.doesNotMatch(r.stderr, /t0k3n-in-url|s3cret-slack|s3cret-token/, 'no URL or secret in a message');

  // A URL written in the file is refused by the schema: it is named like every secret.
  const inline = check('notify-inline.yaml', `${HEAD}notify:\n  endpoints:\n    - url: "https://hooks.example/t0k3n"\n`);
  assert.equal(inline.code, 2);
  assert.match(inline.stderr, /notify-inline\.yaml:7:12: error: notify\.endpoints\[0\]\.url: must be a secret reference: \{file: PATH\} or \{env: NAME\}/);
});
