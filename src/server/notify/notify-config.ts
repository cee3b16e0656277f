import { createHash } from 'node:crypto';
import { NOTIFY_EVENT_TYPES } from '../../protocol/index.js';
import { InternalPortConfigError } from '../config-error.js';
import type { PortLog } from '../logger.js';
import type { NotificationsOptions, NotifyEndpointOptions } from '../options.js';
import { parseWebhookSecret, readSecretFile } from './webhook-signature.js';

/** An endpoint as the notifier uses it: checked, its files read. */
export interface ResolvedEndpoint {
  name: string;
  kind: 'webhook' | 'slack';
  /** Stable across restarts and the same on every replica with the same config: the queue's endpoint column. */
  key: string;
  url: URL;
  /** The HMAC secret's bytes (v1), when one is configured. */
  hmac: Buffer | undefined;
  events: string[];
  accepts(type: string): boolean;
}

/** The tunables with their defaults applied (docs/notifications.md, "Options"). */
export interface NotifySettings {
  timeoutMs: number;
  concurrency: number;
  failureThreshold: number;
  firstDelayMs: number;
  maxDelayMs: number;
  giveUpAfterMs: number;
  pollMs: number;
  leadMs: number;
  command: string;
}

const NAME = /^[A-Za-z0-9._:-]{1,64}$/;
/** Below this the retries do not span the outage a receiver may have (a night, a weekend's start). */
export const PRODUCTION_MIN_GIVE_UP_SECONDS = 24 * 3600;

function fail(why: string): never {
  throw new InternalPortConfigError(`notifications: ${why}`);
}

function positive(v: unknown, what: string, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${what} must be a positive number`);
  return v;
}

/** An event filter: known types or `family.*`, or `*`; a typo refuses the start instead of silently filtering everything. */
function checkFilter(events: unknown, where: string): string[] {
  if (events === undefined) return ['*'];
  if (!Array.isArray(events) || events.length === 0 || events.some((e) => typeof e !== 'string')) fail(`${where}.events must be a non-empty list of event types`);
  for (const e of events as string[]) {
    if (e === '*') continue;
    const family = e.endsWith('.*') ? e.slice(0, -1) : undefined;
    const known = family ? NOTIFY_EVENT_TYPES.some((t) => t.startsWith(family)) : (NOTIFY_EVENT_TYPES as readonly string[]).includes(e);
    if (!known) fail(`${where}.events: unknown event type "${e}" (known: ${NOTIFY_EVENT_TYPES.join(', ')}, or a family such as approval.*)`);
  }
  return events as string[];
}

/** The bytes of the whsec_ secret in `file`; a file that cannot be read, or holds no such secret, refuses the start naming `where`. */
function secretFrom(file: string, where: string, log: PortLog): Buffer {
  let text: string;
  try {
    text = readSecretFile(file, 'webhook secret file', log);
  } catch (e) {
    fail(`${where} cannot be read: ${(e as Error).message}`);
  }
  try {
    return parseWebhookSecret(text);
  } catch (e) {
    fail(`${where} ${file} ${(e as Error).message}`);
  }
}

function matcher(events: string[]): (type: string) => boolean {
  if (events.includes('*')) return () => true;
  return (type) => events.some((e) => (e.endsWith('.*') ? type.startsWith(e.slice(0, -1)) : type === e));
}

function resolveEndpoint(o: NotifyEndpointOptions, i: number, service: string, defaultSecret: Buffer | undefined, log: PortLog): ResolvedEndpoint {
  const where = `endpoints[${i}]`;
  if (!o || typeof o !== 'object') fail(`${where} must be an object`);
  const kind = o.kind ?? 'webhook';
  if (kind !== 'webhook' && kind !== 'slack') fail(`${where}.kind must be "webhook" or "slack"`);
  if ((o.url === undefined) === (o.urlFile === undefined)) fail(`${where} needs exactly one of url and urlFile`);
  if (kind === 'slack' && o.urlFile === undefined) fail(`${where}: a Slack incoming-webhook URL is a secret: give it as urlFile`);
  let text: string;
  try {
    text = o.url ?? readSecretFile(o.urlFile!, 'notification URL file', log);
  } catch (e) {
    fail(`${where}.urlFile cannot be read: ${(e as Error).message}`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL itself is never repeated: it may be a secret.
    fail(`${where}: the ${o.url !== undefined ? 'url' : 'urlFile\'s content'} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${where}: only http and https URLs are delivered to`);
  if (url.username || url.password) fail(`${where}: credentials in the URL are not sent; put a token in the path or use the whsec_ secret`);
  const name = o.name ?? (kind === 'slack' ? 'slack' : url.host.replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 64));
  if (typeof name !== 'string' || !NAME.test(name)) fail(`${where}.name must be 1-64 letters, digits, ".", "_", ":" or "-"`);
  let hmac = defaultSecret;
  if (o.secretFile !== undefined) hmac = secretFrom(o.secretFile, `${where}.secretFile`, log);
  const events = checkFilter(o.events, where);
  const key = createHash('sha256').update(`${service}\0${kind}\0${name}\0${url.href}`).digest('base64url').slice(0, 22);
  return { name, kind, key, url, hmac: kind === 'slack' ? undefined : hmac, events, accepts: matcher(events) };
}

/** Checks the options and reads the files they name; InternalPortConfigError for anything wrong. */
export function resolveNotifications(o: NotificationsOptions, service: string, log: PortLog): { endpoints: ResolvedEndpoint[]; settings: NotifySettings } {
  if (!o || typeof o !== 'object' || !Array.isArray(o.endpoints)) fail('endpoints must be a list');
  let secret: Buffer | undefined;
  if (o.secretFile !== undefined) secret = secretFrom(o.secretFile, 'secretFile', log);
  const endpoints = o.endpoints.map((e, i) => resolveEndpoint(e, i, service, secret, log));
  const names = new Set<string>();
  for (const e of endpoints) {
    if (names.has(e.name)) fail(`two endpoints are named "${e.name}"; give each a name`);
    names.add(e.name);
  }
  const retry = o.retry ?? {};
  const settings: NotifySettings = {
    timeoutMs: positive(o.timeoutSeconds, 'timeoutSeconds', 10) * 1000,
    concurrency: Math.floor(positive(o.concurrency, 'concurrency', 2)) || 1,
    failureThreshold: Math.floor(positive(o.failureThreshold, 'failureThreshold', 5)) || 1,
    firstDelayMs: positive(retry.firstDelaySeconds, 'retry.firstDelaySeconds', 5) * 1000,
    maxDelayMs: positive(retry.maxDelaySeconds, 'retry.maxDelaySeconds', 3600) * 1000,
    giveUpAfterMs: positive(retry.giveUpAfterSeconds, 'retry.giveUpAfterSeconds', 27 * 3600) * 1000,
    pollMs: positive(o.pollSeconds, 'pollSeconds', 2) * 1000,
    leadMs: positive(o.grantExpiringLeadSeconds, 'grantExpiringLeadSeconds', 600) * 1000,
    command: o.command ?? `opsctl --context ${/^[A-Za-z0-9_.-]+$/.test(service) ? service : `'${service.replace(/'/g, `'\\''`)}'`}`,
  };
  if (typeof settings.command !== 'string' || !settings.command.trim() || /[\r\n]/.test(settings.command)) fail('command must be one line of text (e.g. "opsctl --context prod-orders")');
  if (settings.giveUpAfterMs < PRODUCTION_MIN_GIVE_UP_SECONDS * 1000) {
    log('warn', `notifications: retries give up after ${settings.giveUpAfterMs / 1000} s, less than the 24 h a production receiver's outage may last (fine for tests)`);
  }
  return { endpoints, settings };
}
