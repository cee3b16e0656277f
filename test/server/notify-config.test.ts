/**
 * Notification options are checked at start (docs/notifications.md,
 * "Configuring it"): a wrong secret, URL or event filter refuses the start
 * with InternalPortConfigError, and never repeats a URL (it may be a
 * secret); Slack gets a readable message (what, who, why, the count, the
 * command) and the decision as a follow-up message, with no signature
 * headers and no button.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { InternalPortConfigError } from '../../src/server/index.js';
import { startHarness, tempDir } from './fixtures/harness.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { newWebhookSecret } from '../../src/server/notify/webhook-signature.js';

test('bad notification options refuse the start, naming the field and never the URL', async () => {
  const dir = tempDir('opsctl-notify-cfg-');
  try {
    const bad = path.join(dir, 'bad');
    fs.writeFileSync(bad, 'not-a-secret', { mode: 0o600 });
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, `whsec_${Buffer.alloc(8).toString('base64')}`, { mode: 0o600 });
    const cases: Array<[unknown, RegExp]> = [
      [{ endpoints: [{ url: 'ftp://x/secret-token' }] }, /only http and https/],
      [{ endpoints: [{ url: 'not a url secret-token' }] }, /is not a URL/],
      [{ endpoints: [{ url: 'https://u:pw@x/' }] }, /credentials in the URL/],
      [{ endpoints: [{ url: 'https://x/', events: ['aproval.requested'] }] }, /unknown event type "aproval.requested"/],
      [{ endpoints: [{ url: 'https://x/', secretFile: bad }] }, /is not a whsec_ secret/],
      [{ endpoints: [{ url: 'https://x/' }], secretFile: short }, /24 to 64/],
      [{ endpoints: [{ kind: 'slack', url: 'https://hooks.slack.test/secret-token' }] }, /give it as urlFile/],
      [{ endpoints: [{ url: 'https://x/a', name: 'a' }, { url: 'https://x/b', name: 'a' }] }, /two endpoints are named "a"/],
      [{ endpoints: [{ urlFile: path.join(dir, 'missing') }] }, /urlFile cannot be read/],
      [{ endpoints: [{ url: 'https://x/' }], retry: { firstDelaySeconds: 0 } }, /retry.firstDelaySeconds must be a positive number/],
    ];
    for (const [notifications, why] of cases) {
      await assert.rejects(startHarness({ notifications: notifications as never }), (e: Error) => {
        assert.ok(e instanceof InternalPortConfigError, `${String(why)}: ${e.message}`);
        assert.match(e.message, why);
        assert.equal(e.message.includes('secret-token'), false, 'the URL is not repeated');
        return true;
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Slack: a readable message per event (what, who, why, N of M, the command), the decision as a follow-up; no signature, no button', async () => {
  const slack = await startReceiver({ secret: newWebhookSecret() });
  const dir = tempDir('opsctl-notify-slack-');
  const urlFile = path.join(dir, 'slack-url');
  fs.writeFileSync(urlFile, `${slack.url}\n`, { mode: 0o600 });
  const h = await startHarness({
    approvals: { endpoints: { 'flags.set': { count: 1, role: 'admin' } } },
    flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'beta' }] },
    notifications: { endpoints: [{ kind: 'slack', urlFile, events: ['approval.*'] }], command: 'opsctl --context prod' },
  });
  try {
    const held = await h.operator.call('flags.set', { name: 'beta', value: true }, { headers: { 'opsctl-reason': 'launch <day> & more' } });
    const id = held.json.approval.id as string;
    const view = (await h.admin.call('approvals.get', { id })).json;
    await h.admin.call('approvals.approve', { id, digest: view.digest });
    const deadline = Date.now() + 10_000;
    while (slack.deliveries.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const msgs = slack.deliveries.map((d) => JSON.parse(d.body) as { text: string; blocks: Array<{ type: string; text: { text: string } }> });
    assert.equal(msgs.length, 3, 'requested, approved, decided');
    const [asked, approved, decided] = msgs as [typeof msgs[0], typeof msgs[0], typeof msgs[0]];
    assert.match(asked.text, /\*oscar-operator\* asks to run `flags.set`/);
    assert.match(asked.text, /launch &lt;day&gt; &amp; more/, 'why, escaped for Slack');
    assert.match(asked.text, /Needs 1 approval/);
    assert.match(asked.text, new RegExp(`opsctl --context prod approvals show ${id}`));
    assert.match(approved.text, /alice-admin\* approved .* \(1 of 1 approval\)/);
    assert.match(decided.text, /Decided: .*ran/, 'the outcome is a follow-up message');
    assert.ok(msgs.every((m) => m.blocks.every((b) => b.type === 'section')), 'no buttons (actions blocks)');
    assert.ok(slack.deliveries.every((d) => !d.id && !d.signature), 'no Standard Webhooks headers to Slack');
    const status = (await h.viewer.call('notify.status')).json;
    assert.deepEqual(status.endpoints.map((e: { name: string; kind: string }) => [e.name, e.kind]), [['slack', 'slack']]);
    assert.equal(JSON.stringify(status).includes(String(slack.port)), false, 'the Slack URL is never shown');
  } finally {
    await h.close();
    await slack.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
