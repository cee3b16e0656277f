/**
 * Grants through the real CLI, a real bastion and host sshd and the real
 * demo service: an admin grants a key that is on no allowlist, the key
 * works until its time and not a second longer, a revocation holds from the
 * next request, the service's limits refuse, an access request becomes a
 * grant once another admin approves it (and not when rejected), the SSH
 * hops expire with the grant through OpenSSH's expiry-time, and the audit
 * log has every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack, runCli, type Stack } from '../helpers/stack.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { TEST_USER } from '../helpers/sshd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function connectionFor(s: Stack, key: TestKey): string[] {
  return [
    '--bastion', `${TEST_USER}@127.0.0.1:${s.bastion.port}`,
    '--host', `${TEST_USER}@127.0.0.1:${s.host.port}`,
    '--port', String(s.service.internal.port),
    '--identity', key.privatePath,
    '--known-hosts', s.knownHosts,
  ];
}

/** Lets the key through both SSH hops (an authorized_keys line; sshd reads the file on every login). */
function allowSsh(s: Stack, line: string): void {
  for (const d of [s.bastion.dir, s.host.dir]) fs.appendFileSync(`${d}/authorized_keys`, line.trim() + '\n');
}

test('grants through the CLI: add, use, expire, revoke, limits, access requests, SSH expiry, audit', { timeout: 180_000 }, async (t) => {
  const s = await startStack(t);
  if (!s) return;
  try {
    const admin = (args: string[]) => s.cli([...s.connection, ...args]);
    const bob = generateKeyPair('bob-contractor', { dir: s.dir });
    allowSsh(s, bob.publicLine);
    const asBob = (args: string[]) => runCli([...connectionFor(s, bob), ...args], s.env);

    // Not on the allowlist: refused (exit 3).
    const before = await asBob(['whoami']);
    assert.equal(before.code, 3, before.stderr);

    // A short grant works, says when it ends, then stops by itself.
    const add = await admin(['grants', 'add', bob.publicPath, '--role', 'operator', '--for', '20s', '--reason', 'INC-1 hotfix', '-o', 'json']);
    assert.equal(add.code, 0, add.stderr);
    const g = JSON.parse(add.stdout).grant;
    assert.equal(g.role, 'operator');
    assert.equal(g.principal, 'bob-contractor');
    assert.equal(g.keyid, bob.keyid);
    const who = await asBob(['whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    const me = JSON.parse(who.stdout);
    assert.equal(me.role, 'operator');
    assert.equal(me.grant.id, g.id);
    const whoHuman = await asBob(['whoami']);
    assert.match(whoHuman.stdout, new RegExp(`grant\\s+${g.id} \\(operator, expires in \\d+s, granted by e2e-operator\\)`));
    const set = await asBob(['flags', 'enable', 'maintenance_mode', '--reason', 'INC-1']);
    assert.equal(set.code, 0, set.stderr);
    const listed = await admin(['grants', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${g.id}\\s+bob-contractor\\s+operator\\s+active\\s+in \\d+s\\s+e2e-operator\\s+INC-1 hotfix`));
    await sleep(Math.max(0, Date.parse(g.expiresAt) - Date.now()) + 200);
    const expired = await asBob(['flags', 'disable', 'maintenance_mode', '--reason', 'too late']);
    assert.equal(expired.code, 3, 'expired: auth denied');
    assert.match(expired.stderr, /auth\.unknown_key/);
    const listedAfter = await admin(['grants', 'list']);
    assert.match(listedAfter.stdout, new RegExp(`${g.id}\\s+bob-contractor\\s+operator\\s+expired\\s+\\d+s ago`));

    // Revocation: effective on the very next request.
    const add2 = await admin(['grants', 'add', bob.publicLine, '--role', 'viewer', '--for', '10m', '--reason', 'look around', '--name', 'Bob (contractor)']);
    assert.equal(add2.code, 0, add2.stderr);
    assert.match(add2.stderr + add2.stdout, /granted viewer to Bob \(contractor\)/);
    assert.match(add2.stdout, /expires\s+in 10m \(/);
    const id2 = /grant\s+([A-Za-z0-9]{16})/.exec(add2.stdout)![1]!;
    assert.equal((await asBob(['health'])).code, 0);
    const rev = await admin(['grants', 'revoke', id2, '--reason', 'done']);
    assert.equal(rev.code, 0, rev.stderr);
    assert.match(rev.stderr + rev.stdout, /revoked/);
    assert.equal((await asBob(['health'])).code, 3, 'revoked: the next request is refused');

    // Limits: a duration the CLI cannot read (usage, nothing sent), one above the service maximum (8 h), no reason.
    const badFor = await admin(['grants', 'add', bob.publicPath, '--role', 'viewer', '--for', '5 minutes', '--reason', 'x']);
    assert.equal(badFor.code, 2);
    assert.match(badFor.stderr, /is not a duration: use e\.g\. 90s, 15m, 2h/);
    const tooLong = await admin(['grants', 'add', bob.publicPath, '--role', 'viewer', '--for', '9h', '--reason', 'x']);
    // The server refused a value the operator typed: a usage error (exit 2), like every request.invalid.
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.match(tooLong.stderr, /above this service's maximum grant of 28800 s \(8h\).*request\.invalid, HTTP 400/);
    const noReason = await admin(['grants', 'add', bob.publicPath, '--role', 'viewer', '--for', '1m']);
    assert.equal(noReason.code, 2);
    const privateKey = await admin(['grants', 'add', bob.privatePath, '--role', 'viewer', '--for', '1m', '--reason', 'x']);
    assert.equal(privateKey.code, 2);
    assert.match(privateKey.stderr, /is a private key/);

    // Access requests: bob becomes a viewer on the allowlist and asks for operator.
    fs.appendFileSync(s.service.authorizedKeysFile, `role="viewer" ${bob.publicLine}\n`);
    const noWait = await asBob(['grants', 'request', '--role', 'operator', '--for', '2m', '--reason', 'INC-2 kill switch', '--no-wait', '-o', 'json']);
    assert.equal(noWait.code, 0, noWait.stderr);
    const a1 = JSON.parse(noWait.stdout).approval;
    assert.match(a1.id, /^[A-Za-z0-9]{16}$/);
    assert.equal((await asBob(['flags', 'enable', 'maintenance_mode'])).code, 3, 'held: still a viewer');
    // bob waits in the foreground; the admin approves meanwhile.
    const waiting = asBob(['grants', 'request', '--role', 'operator', '--for', '2m', '--reason', 'INC-2 again']);
    let a2: { id: string; digest: string } | undefined;
    for (let i = 0; i < 100 && !a2; i++) {
      await sleep(200);
      const l = await admin(['call', 'approvals.list', '-o', 'json']);
      a2 = JSON.parse(l.stdout).approvals.find((x: { state: string; reason: string | null; params: { reason?: string } }) => x.state === 'pending' && x.params?.reason === 'INC-2 again');
    }
    assert.ok(a2, 'the waiting request is listed as pending');
    const approve = await admin(['call', 'approvals.approve', '--param', `id=${a2!.id}`, '--param', `digest=${a2!.digest}`]);
    assert.equal(approve.code, 0, approve.stderr);
    const waited = await waiting;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr + waited.stdout, new RegExp(`access request ${a2!.id} approved by e2e-operator`));
    assert.match(waited.stdout, /role\s+operator/);
    assert.match(waited.stdout, /expires\s+in (2m|1m5\d?s)/);
    assert.equal((await asBob(['flags', 'disable', 'maintenance_mode'])).code, 0, 'approved: bob acts as operator');
    // Rejected: the waiting command exits 4 and nothing is granted.
    const waiting2 = asBob(['grants', 'request', '--role', 'admin', '--for', '1m', '--reason', 'INC-3 root please']);
    let a3: { id: string } | undefined;
    for (let i = 0; i < 100 && !a3; i++) {
      await sleep(200);
      const l = await admin(['call', 'approvals.list', '-o', 'json']);
      a3 = JSON.parse(l.stdout).approvals.find((x: { state: string; params: { reason?: string } }) => x.state === 'pending' && x.params?.reason === 'INC-3 root please');
    }
    assert.ok(a3, 'the second request is pending');
    assert.equal((await admin(['call', 'approvals.reject', '--param', `id=${a3!.id}`, '--param', 'reason=not today'])).code, 0);
    const rejected = await waiting2;
    assert.equal(rejected.code, 4, rejected.stderr);
    assert.match(rejected.stderr, /rejected by e2e-operator: not today/);
    assert.equal((await asBob(['audit', 'tail'])).code, 3, 'no admin grant came of it');

    // SSH side: a key whose authorized_keys line carries expiry-time (grants add --ssh-line) loses the SSH hops with the grant.
    const carol = generateKeyPair('carol', { dir: s.dir });
    const addC = await admin(['grants', 'add', carol.publicPath, '--role', 'viewer', '--for', '10s', '--reason', 'ssh expiry', '--ssh-line', '-o', 'json']);
    assert.equal(addC.code, 0, addC.stderr);
    const c = JSON.parse(addC.stdout);
    assert.match(c.sshAuthorizedKeysLine, /^expiry-time="\d{14}Z" ssh-ed25519 [A-Za-z0-9+/=]+$/);
    allowSsh(s, c.sshAuthorizedKeysLine);
    const asCarol = (args: string[]) => runCli([...connectionFor(s, carol), ...args], s.env);
    assert.equal((await asCarol(['health'])).code, 0);
    await sleep(Math.max(0, Date.parse(c.grant.expiresAt) - Date.now()) + 1100);
    const carolLate = await asCarol(['health']);
    assert.equal(carolLate.code, 5, `the SSH hop refuses the key once expired: ${carolLate.stderr}`);

    // The audit trail of all of it.
    const tail = await admin(['audit', 'tail', '-n', '400', '-o', 'json']);
    assert.equal(tail.code, 0, tail.stderr);
    const recs = JSON.parse(tail.stdout).records as Array<Record<string, unknown>>;
    const grantOf = (r: Record<string, unknown>) => r.grant as { id: string; event: string } | undefined;
    assert.ok(recs.some((r) => grantOf(r)?.id === g.id && grantOf(r)?.event === 'created'), 'creation');
    assert.ok(recs.some((r) => r.grantId === g.id && r.endpoint === 'flags.set' && r.outcome === 'ok'), 'use under the grant');
    assert.ok(recs.some((r) => r.grantId === g.id && r.outcome === 'expired'), 'expiry');
    assert.ok(recs.some((r) => grantOf(r)?.id === id2 && grantOf(r)?.event === 'revoked'), 'revocation');
    assert.ok(recs.some((r) => r.endpoint === 'grants.request' && r.outcome === 'pending'), 'the access request held');
    assert.ok(recs.some((r) => r.endpoint === 'grants.request' && r.outcome === 'ok' && grantOf(r)?.event === 'created'), 'the approved request made a grant');
    assert.ok(recs.some((r) => r.outcome === 'rejected'), 'the rejection');
    const verify = await admin(['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
  } finally {
    await s.stop();
  }
});

test('persons and cascade through the CLI: a grant-only helper acts for its granter, its approval names grant and granter, a taken name is exit 2, revoking its grant ends what was made under it', { timeout: 180_000 }, async (t) => {
  const s = await startStack(t);
  if (!s) return;
  try {
    const admin = (args: string[]) => s.cli([...s.connection, ...args]);
    const bob = generateKeyPair('bob-viewer', { dir: s.dir });
    const dan = generateKeyPair('dan-helper', { dir: s.dir });
    const erin = generateKeyPair('erin', { dir: s.dir });
    allowSsh(s, bob.publicLine);
    allowSsh(s, dan.publicLine);
    fs.appendFileSync(s.service.authorizedKeysFile, `role="viewer" ${bob.publicLine}\n`);
    const asBob = (args: string[]) => runCli([...connectionFor(s, bob), ...args], s.env);
    const asDan = (args: string[]) => runCli([...connectionFor(s, dan), ...args], s.env);

    const named = await admin(['grants', 'add', dan.publicPath, '--role', 'admin', '--for', '5m', '--reason', 'helper', '--name', 'E2E-Operator']);
    assert.equal(named.code, 2, `an allowlisted person's name (here the granter's own) is refused: ${named.stderr}`);
    assert.match(named.stderr, /grant\.principal_taken/);
    const addD = await admin(['grants', 'add', dan.publicPath, '--role', 'admin', '--for', '5m', '--reason', 'helper', '-o', 'json']);
    assert.equal(addD.code, 0, addD.stderr);
    const gd = JSON.parse(addD.stdout).grant;
    assert.equal(gd.actsFor, 'e2e-operator');
    assert.match((await asDan(['whoami'])).stdout, /acts for\s+e2e-operator/);
    const addE = await asDan(['grants', 'add', erin.publicPath, '--role', 'viewer', '--for', '1m', '--reason', 'under dan', '-o', 'json']);
    assert.equal(addE.code, 0, addE.stderr);
    const ge = JSON.parse(addE.stdout).grant;
    assert.deepEqual(ge.parentGrants, [gd.id]);

    const ask = await asBob(['grants', 'request', '--role', 'operator', '--for', '2m', '--reason', 'INC-4', '--no-wait', '-o', 'json']);
    assert.equal(ask.code, 0, ask.stderr);
    const a4 = JSON.parse(ask.stdout).approval;
    const byDan = await asDan(['approvals', 'approve', a4.id, '--yes']);
    assert.equal(byDan.code, 0, byDan.stderr);
    const shown = await admin(['approvals', 'show', a4.id]);
    assert.match(shown.stdout, new RegExp(`approvals\\s+1 of 1 \\(approver role admin\\): dan-helper \\[grant ${gd.id} by e2e-operator, acts for e2e-operator\\]`));
    assert.match((await admin(['approvals', 'list'])).stdout, new RegExp(`dan-helper \\[grant ${gd.id} by e2e-operator`));
    const bobGrant = JSON.parse((await admin(['approvals', 'show', a4.id, '-o', 'json'])).stdout).result.body.grant;
    assert.deepEqual(bobGrant.parentGrants, [gd.id], 'approved under dan\'s grant: ends with it');

    const revD = await admin(['grants', 'revoke', gd.id, '--reason', 'helper done']);
    assert.equal(revD.code, 0, revD.stderr);
    assert.match(revD.stderr + revD.stdout, /2 grant\(s\) made under it ended too/);
    const list = await admin(['grants', 'list']);
    assert.match(list.stdout, new RegExp(`${ge.id}.*ended with ${gd.id}`));
    assert.match(list.stdout, new RegExp(`${bobGrant.id}.*ended with ${gd.id}`));
    assert.equal((await asBob(['flags', 'enable', 'maintenance_mode'])).code, 3, 'bob\'s grant ended with the grant it was approved under');
  } finally {
    await s.stop();
  }
});
