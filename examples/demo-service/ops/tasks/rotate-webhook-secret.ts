import { createHash } from 'node:crypto';
import type { TaskDefinition } from '../../../../src/server/options.js';

/**
 * Replaces the secret the demo would sign outgoing webhooks with. It shows a
 * `secret: true` param end to end: the audit log redacts it, and opsctl
 * refuses it on the command line (it is read from a file, stdin, or asked
 * for without echo). Only a fingerprint ever leaves the service.
 */
export function rotateWebhookSecretTask(): TaskDefinition {
  let fingerprint: string | null = null;
  return {
    name: 'rotate-webhook-secret',
    summary: 'Replace the webhook signing secret',
    description: 'Sets a new webhook signing secret (at least 16 characters). The answer names only its SHA-256 fingerprint.',
    role: 'operator',
    destructive: false,
    scope: 'instance',
    params: {
      type: 'object',
      properties: {
        secret: { type: 'string', minLength: 16, maxLength: 4096, secret: true, description: 'the new signing secret' },
      },
      required: ['secret'],
      additionalProperties: false,
    },
    dryRun(params) {
      const next = `sha256:${createHash('sha256').update(String(params.secret)).digest('hex').slice(0, 16)}`;
      return { current: fingerprint, wouldBecome: next };
    },
    async handler(params, ctx) {
      const secret = params.secret;
      if (typeof secret !== 'string' || secret.length < 16) throw new TypeError('secret must be a string of at least 16 characters');
      const previous = fingerprint;
      fingerprint = `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`;
      ctx.progress(1);
      ctx.log(`webhook secret replaced (${fingerprint})`);
      return { fingerprint, previous };
    },
  };
}
