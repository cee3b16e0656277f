/**
 * A real Standard Webhooks receiver for the notification tests: an HTTP
 * server on loopback that verifies EVERY delivery it gets with the
 * `standardwebhooks` library (a verifier nobody here wrote: HMAC `v1` and
 * the timestamp window) and checks the Ed25519 `v1a` signature with
 * node:crypto, as docs/notifications.md tells a receiver to. It keeps every
 * delivery (verified or not, and why), and can be told how to answer: an
 * HTTP status, after a delay, never, or not at all (stopped, port closed).
 */
import http from 'node:http';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body when both signatures verified; undefined otherwise. */
  event: { type: string; timestamp: string; data: Record<string, any> } | undefined;
  /** Why verification failed, when it did. */
  rejected?: string;
  /** The status this receiver answered (undefined: it hung up or never answered). */
  answered?: number;
  at: number;
}

export type Behaviour = (d: Delivery, n: number) => { status: number; delayMs?: number } | 'hang';

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly deliveries: Delivery[];
  /** Verified deliveries only, in arrival order. */
  events(): Array<NonNullable<Delivery['event']> & { id: string }>;
  /** How to answer from now on (default: 204 at once). */
  behave(b: Behaviour): void;
  /** The whpk_ key v1a signatures are checked against (from the port's health or notify status). */
  trust(publicKey: string): void;
  /** Closes the listener (the receiver is down: connections are refused) and every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Resolves once `pred` holds over the verified events (polls every 20 ms). */
  waitFor(pred: (events: ReturnType<Receiver['events']>) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

/** Verifies one delivery as a receiver would; throws with the reason. */
export function verifyDelivery(secret: string | undefined, publicKey: string | undefined, headers: Record<string, string>, body: string): { type: string; timestamp: string; data: Record<string, any> } {
  let event: any;
  if (secret) event = new Webhook(secret).verify(body, headers);
  if (publicKey) {
    const raw = Buffer.from(publicKey.replace(/^whpk_/, ''), 'base64');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    const signed = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`);
    const ok = (headers['webhook-signature'] ?? '').split(' ').some((s) => s.startsWith('v1a,') && cryptoVerify(null, signed, key, Buffer.from(s.slice(4), 'base64')));
    if (!ok) throw new Error('no v1a signature verifies with the published key');
    event ??= JSON.parse(body);
  }
  if (!secret && !publicKey) throw new Error('nothing to verify with');
  return event;
}

export async function startReceiver(opts: { secret?: string; publicKey?: string } = {}): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  let behaviour: Behaviour = () => ({ status: 204 });
  let publicKey = opts.publicKey;
  const sockets = new Set<import('node:net').Socket>();
  let port = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (n: string) => String(req.headers[n] ?? '');
      const d: Delivery = { id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature: h('webhook-signature'), body, event: undefined, at: Date.now() };
      try {
        d.event = verifyDelivery(opts.secret, publicKey, { 'webhook-id': d.id, 'webhook-timestamp': d.timestamp, 'webhook-signature': d.signature }, body);
      } catch (e) {
        d.rejected = (e as Error).message;
      }
      deliveries.push(d);
      const b = behaviour(d, deliveries.length);
      if (b === 'hang') return;
      const answer = () => {
        d.answered = b.status;
        res.writeHead(b.status, { 'content-type': 'text/plain' }).end(b.status < 300 ? '' : `status ${b.status}`);
      };
      if (b.delayMs) setTimeout(answer, b.delayMs);
      else answer();
    });
  };
  let server: http.Server;
  const listen = () => new Promise<void>((resolve, reject) => {
    server = http.createServer(handler);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      port = (server.address() as import('node:net').AddressInfo).port;
      resolve();
    });
  });
  await listen();
  const stop = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
  const r: Receiver = {
    get url() { return `http://127.0.0.1:${port}/hooks/opsctl?token=t0p-s3cret-in-url`; },
    get port() { return port; },
    deliveries,
    events: () => deliveries.filter((d) => d.event).map((d) => ({ ...d.event!, id: d.id })),
    behave(b) { behaviour = b; },
    trust(k) { publicKey = k; },
    stop,
    start: listen,
    async waitFor(pred, timeoutMs = 20_000, what = 'the expected deliveries') {
      const deadline = Date.now() + timeoutMs;
      while (!pred(r.events())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(deliveries.map((d) => ({ id: d.id, type: d.event?.type, rejected: d.rejected, answered: d.answered })))}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    close: stop,
  };
  return r;
}
