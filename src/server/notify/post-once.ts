import http from 'node:http';
import https from 'node:https';

/** What one attempt came to: a status (any), or no answer at all. */
export interface PostResult {
  status: number | null;
  /** Why it failed, for the log, health and the audit record (never the URL). */
  error?: string;
  /** A Retry-After the receiver sent with 429/503, in ms. */
  retryAfterMs?: number;
  ms: number;
}

const MAX_ANSWER = 4096;

/**
 * One POST of a delivery, with node:http/https (no dependency on the
 * request path of anything; fetch would follow redirects unless told not
 * to, and has no single deadline covering connect to status). The deadline
 * covers connecting, sending and the status line; the answer's body is
 * read up to 4 KiB (its start names the error) and then dropped. Redirects
 * are never followed: a 3xx is a failure (the URL should be fixed).
 */
export function postOnce(url: URL, body: string, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<PostResult> {
  const started = Date.now();
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<PostResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, ms: Date.now() - started });
    };
    const payload = Buffer.from(body, 'utf8');
    const req = lib.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'opsctl-notify/1', ...headers },
      // One connection per attempt: a receiver's half-dead keep-alive socket never eats an attempt.
      agent: false,
    });
    let answered: (() => void) | undefined;
    const timer = setTimeout(() => {
      // A status already came: the outcome stands, only the error text is cut short.
      if (answered) answered();
      else done({ status: null, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = () => {
      done({ status: null, error: 'stopped: the port is closing' });
      req.destroy();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (e: NodeJS.ErrnoException) => done({ status: null, error: e.code ? `${e.code}` : e.message }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        done({ status });
        res.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const text = Buffer.concat(chunks).toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);
        const retryAfter = retryAfterMs(res.headers['retry-after']);
        done({ status, error: `HTTP ${status}${text ? `: ${text}` : ''}`, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) });
        res.destroy();
      };
      answered = finish;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER) chunks.push(c);
        else finish();
      });
      res.on('end', finish);
      res.on('error', finish);
    });
    req.end(payload);
  });
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfterMs(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
