/**
 * Notifications from the real opsctl-port bin (docs/sidecar.md,
 * "Notifications"): a `notify:` webhook target, its URL from an environment
 * variable and its whsec_ secret from a 0600 file, gets a Standard Webhooks
 * delivery when an exec endpoint's request is held for approval — verified
 * by the receiver with the `standardwebhooks` library (v1) and the port's
 * published Ed25519 key (v1a) — and the URL's token is in no log or audit
 * record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { startOpsctlPort, tempDir } from '../helpers/sidecar.js';
import { SignedClient, makeKey, writeAllowlist } from '../helpers/signed-client.js';

test('a held request reaches a webhook target as a signed approval.requested event', async () => {
  const dir = tempDir();
  const secret = newWebhookSecret();
  const rx = await startReceiver({ secret });
  const alice = makeKey(dir, 'alice');
  writeAllowlist(path.join(dir, 'keys'), [[alice, 'operator']]);
  fs.writeFileSync(path.join(dir, 'webhook.whsec'), `${secret}\n`, { mode: 0o600 });
  const file = path.join(dir, 'opsctl-port.yaml');
  fs.writeFileSync(file, JSON.stringify({
    service: { name: 'notify-test', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    endpoints: [{
      id: 'app.restart', summary: 'restart the workers', role: 'operator', destructive: true,
      approval: { count: 1 }, exec: { argv: ['/bin/echo', 'restarted'] },
    }],
    notify: {
      endpoints: [{ name: 'ops-bus', url: { env: 'OPSCTL_TEST_HOOK_URL' }, events: ['approval.*'] }],
      secret: { file: './webhook.whsec' },
      command: 'opsctl --context notify-test',
      timeoutSeconds: 2,
      retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.3, giveUpAfterSeconds: 60 },
    },
  }, null, 2));
  // rx.url carries a token in its query: it must never be written anywhere.
  const port = await startOpsctlPort(file, { env: { OPSCTL_TEST_HOOK_URL: rx.url } });
  try {
    const client = new SignedClient({ host: '127.0.0.1', port: port.port }, alice);
    const status = await client.call('notify.status');
    assert.equal(status.status, 200, status.text);
    rx.trust(status.json.publicKey);

    const held = await client.send('POST', '/v1/app/restart', { body: {}, headers: { 'opsctl-reason': 'deploy 42' } });
    assert.equal(held.status, 202, held.text);
    const approvalId = held.json.approval.id as string;
    await rx.waitFor((events) => events.some((e) => e.type === 'approval.requested'), 20_000, 'approval.requested');
    const event = rx.events().find((e) => e.type === 'approval.requested')!;
    assert.equal(event.data.service, 'notify-test');
    assert.equal(event.data.endpoint, 'app.restart');
    assert.equal(event.data.requester, 'alice');
    assert.equal(event.data.reason, 'deploy 42');
    assert.equal(event.data.approvalId, approvalId);
    assert.equal(event.data.command, `opsctl --context notify-test approvals show ${approvalId}`);
    assert.deepEqual(rx.deliveries.filter((d) => d.rejected).map((d) => d.rejected), [], 'every delivery verifies (v1 with the library, v1a with the published key)');
    assert.match(rx.deliveries[0]!.signature, /^v1,\S+ v1a,\S+$/);

    const audit = fs.readFileSync(path.join(dir, 'data/audit.jsonl'), 'utf8');
    for (const text of [port.log(), audit]) assert.doesNotMatch(text, /t0p-s3cret-in-url/, 'the URL\'s token is in no log or audit record');
  } finally {
    await port.stop();
    await rx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
