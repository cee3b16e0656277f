// HTTP helpers for the demo-service tests: signed requests to the internal
// port (real ssh-keygen keys, RFC 9421 via test/helpers/signed-client.ts),
// plain ones to the public API, and the job / migration flows they share.
import http from 'node:http';
import { SignedClient, type SendOptions } from '../helpers/signed-client.js';
import type { TestKey } from '../helpers/keys.js';
import type { HostPort } from '../helpers/demo-service.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** Sends one request signed with `key` (through the server tests' SignedClient). */
export function signed(target: HostPort, key: TestKey, method: string, path: string, opts: SendOptions = {}): Promise<Reply> {
  return new SignedClient(target, key).send(method, path, opts);
}

/** An unsigned request (the public API, or a negative test on the internal port). */
export function plain(target: HostPort, method: string, pathAndQuery: string, body?: Buffer | string | unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  if (payload && !headers['content-type']) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.host, port: target.port, method, path: pathAndQuery, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        let json: unknown;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls jobs.get until the job reaches a final state (or the timeout passes). */
export async function waitForJob(target: HostPort, key: TestKey, id: string, timeoutMs = 20_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await signed(target, key, 'GET', `/v1/jobs/${id}`);
    if (r.status !== 200) throw new Error(`jobs.get ${id}: ${r.status} ${r.text}`);
    if (['succeeded', 'failed', 'cancelled'].includes(r.json.state)) return r;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${r.json.state} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Plans and applies every pending migration (plan → up with expectedPlan → job succeeded). */
export async function migrateUp(target: HostPort, admin: TestKey): Promise<void> {
  const plan = await signed(target, admin, 'POST', '/v1/migrations/plan', { body: {} });
  if (plan.status !== 200) throw new Error(`migrations.plan: ${plan.status} ${plan.text}`);
  const up = await signed(target, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: plan.json.planHash } });
  if (up.status !== 202) throw new Error(`migrations.up: ${up.status} ${up.text}`);
  const job = await waitForJob(target, admin, up.json.jobId);
  if (job.json.state !== 'succeeded') throw new Error(`migration job ${job.json.state}: ${job.text}`);
}
