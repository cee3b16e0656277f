/**
 * The `notify:` section as the module's `notifications` option
 * (docs/sidecar.md, "Notifications"; the events and the delivery in
 * docs/notifications.md). The URLs are named like every secret of the
 * config ({file} or {env}: a URL may hold a token), the whsec_ secrets are
 * files; each is checked where the config names it (private file, a URL
 * the module delivers to, a well-formed secret, known event types), then
 * the module's own check runs on the result, so what `check` accepts is
 * what the port starts with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NOTIFY_EVENT_TYPES } from '../../protocol/index.js';
import { resolveNotifications } from '../../server/notify/notify-config.js';
import { parseWebhookSecret } from '../../server/notify/webhook-signature.js';
import type { NotificationsOptions, NotifyEndpointOptions } from '../../server/options.js';
import { Problems, readSecret } from './problems.js';
import type { NotifySpec } from './types.js';
import type { ConfigPath } from './yaml-source.js';

export interface PreparedNotify {
  /** The module's option without its store (a postgres queue is made at start). */
  options: NotificationsOptions;
  /** The shared queue's database URL, when `store: {postgres}` (never logged). */
  postgresUrl: string | undefined;
}

interface Ctx {
  resolvePath(p: string): string;
  env: NodeJS.ProcessEnv;
}

/** A whsec_ secret file: private, and a secret the module can use. */
function secretFile(ref: { file: string }, where: ConfigPath, problems: Problems, ctx: Ctx): string | undefined {
  const secret = readSecret(ref, where, problems, ctx.resolvePath, ctx.env);
  if (!secret) return undefined;
  try {
    parseWebhookSecret(secret.value);
  } catch (e) {
    problems.error([...where, 'file'], `${secret.source} ${(e as Error).message}`);
    return undefined;
  }
  return ctx.resolvePath(ref.file);
}

function knownEvent(e: string): boolean {
  if (e === '*') return true;
  if (e.endsWith('.*')) return NOTIFY_EVENT_TYPES.some((t) => t.startsWith(e.slice(0, -1)));
  return (NOTIFY_EVENT_TYPES as readonly string[]).includes(e);
}

export function prepareNotify(spec: NotifySpec, service: string, dataDir: string, problems: Problems, ctx: Ctx): PreparedNotify | undefined {
  const at: ConfigPath = ['notify'];
  const before = problems.errors;
  const endpoints: NotifyEndpointOptions[] = [];
  spec.endpoints.forEach((ep, i) => {
    const where: ConfigPath = [...at, 'endpoints', i];
    const kind = ep.kind ?? 'webhook';
    const out: NotifyEndpointOptions = { kind, ...(ep.name !== undefined ? { name: ep.name } : {}), ...(ep.events ? { events: ep.events } : {}) };
    ep.events?.forEach((e, j) => {
      if (!knownEvent(e)) problems.error([...where, 'events', j], `unknown event type "${e}" (known: ${NOTIFY_EVENT_TYPES.join(', ')}, or a family such as approval.*)`);
    });
    if (kind === 'slack' && 'env' in ep.url) {
      problems.error([...where, 'url', 'env'], 'a Slack incoming-webhook URL is read from a file ({file: PATH}, mode 0600): the URL is the secret');
    } else {
      const url = readSecret(ep.url, [...where, 'url'], problems, ctx.resolvePath, ctx.env);
      if (url) {
        // Only what is wrong is said, never the URL (it may hold a token).
        let parsed: URL | undefined;
        try {
          parsed = new URL(url.value.trim());
        } catch {
          problems.error([...where, 'url'], `${url.source} does not hold a URL`);
        }
        if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') problems.error([...where, 'url'], `${url.source}: only http and https URLs are delivered to`);
        else if (parsed && (parsed.username || parsed.password)) problems.error([...where, 'url'], `${url.source}: credentials in the URL are not sent; put a token in the path or use the whsec_ secret`);
        if ('file' in ep.url) out.urlFile = ctx.resolvePath(ep.url.file);
        else out.url = url.value.trim();
      }
    }
    if (ep.secret) {
      if (kind === 'slack') problems.error([...where, 'secret'], 'Slack cannot verify a signature: a Slack endpoint takes no secret');
      const file = secretFile(ep.secret, [...where, 'secret'], problems, ctx);
      if (file) out.secretFile = file;
    }
    endpoints.push(out);
  });
  const names = new Map<string, number>();
  spec.endpoints.forEach((ep, i) => {
    if (ep.name === undefined) return;
    if (names.has(ep.name)) problems.error([...at, 'endpoints', i, 'name'], `endpoints[${names.get(ep.name)}] has this name too; give each a name of its own`);
    else names.set(ep.name, i);
  });
  const signingKeyFile = spec.signingKeyFile !== undefined ? ctx.resolvePath(spec.signingKeyFile) : path.join(dataDir, 'notify-signing-key.pem');
  if (fs.existsSync(signingKeyFile) && fs.statSync(signingKeyFile).mode & 0o077) {
    problems.error(spec.signingKeyFile !== undefined ? [...at, 'signingKeyFile'] : at, `${signingKeyFile} is readable by group or others; chmod 600 it`);
  }
  const options: NotificationsOptions = {
    endpoints,
    signingKeyFile,
    file: spec.store?.file !== undefined ? ctx.resolvePath(spec.store.file) : path.join(dataDir, 'notify-queue.jsonl'),
    ...(spec.command !== undefined ? { command: spec.command } : {}),
    ...(spec.grantExpiringLeadSeconds !== undefined ? { grantExpiringLeadSeconds: spec.grantExpiringLeadSeconds } : {}),
    ...(spec.timeoutSeconds !== undefined ? { timeoutSeconds: spec.timeoutSeconds } : {}),
    ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
    ...(spec.failureThreshold !== undefined ? { failureThreshold: spec.failureThreshold } : {}),
    ...(spec.pollSeconds !== undefined ? { pollSeconds: spec.pollSeconds } : {}),
    ...(spec.retry ? { retry: spec.retry } : {}),
  };
  if (spec.secret) {
    const file = secretFile(spec.secret, [...at, 'secret'], problems, ctx);
    if (file) options.secretFile = file;
  }
  const postgresUrl = spec.store?.postgres ? readSecret(spec.store.postgres.url, [...at, 'store', 'postgres', 'url'], problems, ctx.resolvePath, ctx.env)?.value : undefined;
  if (problems.errors !== before) return undefined;
  // The module's own check of the result (a default name two endpoints share, …),
  // its warnings (a short give-up time) shown by check as warnings.
  try {
    resolveNotifications(options, service, (level, message) => {
      if (level !== 'info') problems.warn(at, message.replace(/^notifications: /, ''));
    });
  } catch (e) {
    const message = (e as Error).message.replace(/^notifications: /, '');
    const m = /^endpoints\[(\d+)\]/.exec(message);
    problems.error(m ? [...at, 'endpoints', Number(m[1])] : at, message);
    return undefined;
  }
  return { options, postgresUrl };
}
