// CPU per signed request of the pieces the internal port runs for each one,
// measured in this process, now (so beside the throughput figures of the
// same run, on the same loaded machine). Used by port-throughput.mjs; alone:
//   node --import tsx bench/port-cpu-breakdown.mjs
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDictionary } from 'structured-headers';
import { createSignatureBase, prepareVerification, signRequest, verifyRequest } from '../src/protocol/signature.ts';
import { leafHash } from '../src/protocol/merkle.ts';
import { bodyHash } from '../src/server/audit/audit-record.ts';
import { ReplayCache } from '../src/server/auth/replay-cache.ts';
import { PortMetrics } from '../src/server/metrics/port-metrics.ts';
import { randomId } from '../src/server/random-id.ts';

/** Median over 5 runs of `n` calls: CPU µs per call. */
function cost(n, f) {
  for (let i = 0; i < Math.min(n, 500); i++) f();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) f();
    const c = process.cpuUsage(t);
    runs.push((c.user + c.system) / n);
  }
  return runs.sort((a, b) => a - b)[2];
}

export async function cpuBreakdown() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const headers = { host: '127.0.0.1:4000', connection: 'keep-alive', 'opsctl-instance': randomId(16) };
  const now = Math.floor(Date.now() / 1000);
  const signed = await signRequest({ method: 'GET', path: '/v1/health', query: '', headers }, { keyid: 'SHA256:' + 'x'.repeat(43), sign: (d) => sign(null, d, privateKey), created: now });
  headers['signature-input'] = signed['signature-input'];
  headers.signature = signed.signature;
  const base = Buffer.from(signed.base);
  const sig = parseDictionary(headers.signature).get('opsctl')[0];
  const sigBuf = Buffer.from(sig);
  const req = { method: 'GET', path: '/v1/health', query: '', headers };
  const opts = { hasBody: false, requiredComponents: ['@method', '@path', '@query', 'opsctl-instance'], resolveKey: () => publicKey, now };
  const out = {};
  out.ed25519VerifyCachedKey = cost(2000, () => verify(null, base, publicKey, sigBuf));
  out.ed25519VerifyKeyPerRequest = cost(2000, () => verify(null, base, createPublicKey({ key: spki, format: 'der', type: 'spki' }), sigBuf));
  out.verifyRequestWhole = cost(2000, () => verifyRequest(req, opts));
  // The general structured-field parser (what every request paid before the fast path).
  out.signatureParseAndBase = cost(20000, () => {
    const inner = parseDictionary(headers['signature-input']).get('opsctl');
    parseDictionary(headers.signature);
    createSignatureBase(inner, req);
  });
  // Every check but the Ed25519 one, as the port runs it (the fast path for the CLI's form).
  out.prepareVerification = cost(20000, () => prepareVerification(req, opts));
  out.verifyHandOffMainThread = await handOff(base, publicKey, sigBuf);
  const rec = { seq: 123456, time: new Date().toISOString(), requestId: randomId(16), keyid: 'SHA256:' + 'x'.repeat(43), principal: 'bench-viewer', role: 'viewer', peer: '127.0.0.1:45678', endpoint: 'health', method: 'GET', path: '/v1/health', params: {}, reason: null, outcome: 'ok', status: 200, durationMs: 0.731, prev: 'a'.repeat(64) };
  out.auditRecord = cost(20000, () => {
    const r = { ...rec };
    r.hash = bodyHash(r);
    leafHash(JSON.stringify(r));
  });
  const replay = ReplayCache.forWindow(60);
  let k = 0;
  out.replayCache = cost(20000, () => replay.check('SHA256:k', `n${k++}-${'x'.repeat(20)}`, now, now));
  const metrics = new PortMetrics(() => ({}));
  out.metrics = cost(20000, () => metrics.observe('health', 200, 0.001));
  out.requestId = cost(20000, () => randomId(16));
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-bench-stat-')), 'allowlist');
  fs.writeFileSync(f, 'x');
  out.allowlistStat = cost(20000, () => fs.statSync(f, { throwIfNoEntry: false }));
  fs.rmSync(path.dirname(f), { recursive: true, force: true });
  return out;
}

/** Main-thread CPU (this thread's /proc entry) per verify handed to the thread pool: submit + callback. */
function handOff(base, key, sig) {
  const main = () => {
    try {
      const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
      const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(x[11]) + Number(x[12])) * 1e4;
    } catch {
      return NaN;
    }
  };
  const n = 4000;
  const t0 = main();
  let done = 0;
  return new Promise((resolve) => {
    for (let i = 0; i < n; i++) verify(null, base, key, sig, () => { if (++done === n) resolve((main() - t0) / n); });
  });
}

export function formatBreakdown(b) {
  const f = (x) => x.toFixed(1).padStart(6);
  return [
    'CPU per signed request, its pieces measured alone in this process (µs):',
    `  Ed25519 verify ${f(b.ed25519VerifyCachedKey)} (key parsed per request instead: ${b.ed25519VerifyKeyPerRequest.toFixed(1)})`,
    `  every check but the verify (prepareVerification, fast path) ${f(b.prepareVerification)}   (the general parser + signature base instead: ${b.signatureParseAndBase.toFixed(1)}; verifyRequest as a whole ${b.verifyRequestWhole.toFixed(1)})`,
    `  main-thread CPU to hand one verify to the thread pool (submit + callback) ${f(b.verifyHandOffMainThread)}`,
    `  audit record (JSON, chain hash, Merkle leaf) ${f(b.auditRecord)}`,
    `  replay cache ${f(b.replayCache)}   metrics ${f(b.metrics)}   request id ${f(b.requestId)}   allowlist stat ${f(b.allowlistStat)}`,
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatBreakdown(await cpuBreakdown()) + '\n');
}
