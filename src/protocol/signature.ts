/**
 * RFC 9421 HTTP Message Signatures, the subset opsctl needs: Ed25519, plain
 * derived components and header fields, one labelled signature. Shared by the
 * CLI (signing) and the server (verifying); depends on node:crypto only, so
 * the signer can be an ssh-agent and the verifier needs no key material.
 */
import { randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  parseDictionary,
  serializeInnerList,
  serializeDictionary,
  Token,
  type Item,
  type InnerList,
  type Parameters,
  type BareItem,
} from 'structured-headers';

export const SIGNATURE_LABEL = 'opsctl';
export const SIGNATURE_ALG = 'ed25519';
/** Components every opsctl signature must cover; `content-digest` too when there is a body. */
export const REQUIRED_COMPONENTS = ['@method', '@path', '@query'] as const;
/** Signature parameters the server requires. */
export const REQUIRED_PARAMS = ['created', 'nonce', 'keyid', 'alg'] as const;

/** The parts of an HTTP request a signature can cover. */
export interface SignableRequest {
  method: string;
  /** The absolute path as sent on the wire (still percent-encoded). */
  path: string;
  /** The query without its leading '?', as sent on the wire; '' when none. */
  query: string;
  /** Header fields, lower-case names. Arrays are separate field lines. */
  headers: Record<string, string | string[] | number | undefined>;
  /** Host[:port] for @authority when there is no Host header. */
  authority?: string;
}

export class SignatureBaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureBaseError';
  }
}

function headerValue(req: SignableRequest, name: string): string | undefined {
  const raw = req.headers[name];
  if (raw === undefined) return undefined;
  // RFC 9421 §2.1: trim each field line, join multiple lines with ", ".
  const lines = Array.isArray(raw) ? raw : [String(raw)];
  return lines.map((l) => l.trim()).join(', ');
}

/** The value of one covered component for a request (RFC 9421 §2.1–2.2). */
export function componentValue(name: string, req: SignableRequest): string {
  switch (name) {
    case '@method':
      return req.method.toUpperCase();
    case '@path':
      return req.path === '' ? '/' : req.path;
    case '@query':
      return `?${req.query}`;
    case '@authority': {
      const v = headerValue(req, 'host') ?? req.authority;
      if (v === undefined) throw new SignatureBaseError('@authority is covered but the request has no Host');
      return v.toLowerCase();
    }
    case '@request-target':
      return req.query ? `${req.path}?${req.query}` : req.path;
    default: {
      if (name.startsWith('@')) throw new SignatureBaseError(`unsupported derived component ${name}`);
      if (name !== name.toLowerCase()) throw new SignatureBaseError(`component ${name} must be lower case`);
      const v = headerValue(req, name);
      if (v === undefined) throw new SignatureBaseError(`covered header ${name} is missing from the request`);
      return v;
    }
  }
}

/**
 * Builds the signature base (RFC 9421 §2.5) from the covered components and
 * their parameters exactly as given: on the verifying side that is the inner
 * list as received, so its order and parameters are the sender's.
 */
/**
 * The signature parameters as an RFC 8941 inner list: `[components, params]`,
 * each component `[name, parameters]` (structured-headers' InnerList fits as
 * is). Declared here so opsctl/protocol's public types do not pull in
 * structured-headers' own, which need the DOM library's BufferSource.
 */
export type SignatureParamsList = [Array<[unknown, Map<string, unknown>]>, Map<string, unknown>];

export function createSignatureBase(signatureParams: SignatureParamsList, req: SignableRequest, paramsLine?: string): string {
  const [items] = signatureParams;
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const [bare, params] of items) {
    if (typeof bare !== 'string') throw new SignatureBaseError('component identifiers must be strings');
    if (params.size) throw new SignatureBaseError(`component parameters are not supported (${bare})`);
    if (seen.has(bare)) throw new SignatureBaseError(`component ${bare} is covered twice`);
    seen.add(bare);
    lines.push(`"${bare}": ${componentValue(bare, req)}`);
  }
  // paramsLine: the inner list's serialization when the caller already has it
  // (the fast path below, where it is the received text itself).
  lines.push(`"@signature-params": ${paramsLine ?? serializeInnerList(signatureParams as InnerList)}`);
  return lines.join('\n');
}

/**
 * The Signature-Input and Signature of one label in exactly the form
 * signRequest() writes them (components, then created, nonce, keyid, alg;
 * no whitespace, no escapes, canonical base64 and integers), parsed without
 * the general structured-field parser, which costs more than the rest of
 * the request's checks together (src/server/README.md, "Performance").
 * Anything else — another order, more labels or parameters, escapes,
 * whitespace — returns undefined and takes the general parser: since this
 * form is its own canonical serialization, both paths agree on everything
 * this one accepts, and the inner list's text is its serialization.
 */
const FAST_INPUT = /^([a-z][a-z0-9_.*-]{0,63})=(\(((?:"[a-z0-9@_.-]{1,64}")(?: "[a-z0-9@_.-]{1,64}"){0,15})\);created=(0|[1-9][0-9]{0,14});nonce="([A-Za-z0-9+/_=-]{1,256})";keyid="([A-Za-z0-9+/_=:.@-]{1,256})";alg="([a-z0-9-]{1,32})")$/;
const FAST_SIGNATURE = /^([a-z][a-z0-9_.*-]{0,63})=:((?:[A-Za-z0-9+/]{4}){1,64}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?):$/;

function fastParse(label: string, inputHeader: string, sigHeader: string): { inner: InnerList; paramsLine: string; signature: Buffer } | undefined {
  const i = FAST_INPUT.exec(inputHeader);
  if (!i || i[1] !== label) return undefined;
  const g = FAST_SIGNATURE.exec(sigHeader);
  if (!g || g[1] !== label) return undefined;
  const created = Number(i[4]);
  if (!Number.isSafeInteger(created)) return undefined;
  const items: Item[] = i[3]!.split(' ').map((q): Item => [q.slice(1, -1), new Map()]);
  const params: Parameters = new Map<string, BareItem>([['created', created], ['nonce', i[5]!], ['keyid', i[6]!], ['alg', i[7]!]]);
  return { inner: [items, params], paramsLine: i[2]!, signature: Buffer.from(g[2]!, 'base64') };
}

export interface SignOptions {
  keyid: string;
  /** Produces the raw Ed25519 signature of the base (a key, or ssh-agent). */
  sign: (data: Buffer) => Uint8Array | Promise<Uint8Array>;
  /** Unix seconds; defaults to now. */
  created?: number;
  /**
   * Defaults to 128 random bits (16 bytes from node:crypto), base64url —
   * the minimum the server accepts. Given explicitly only by tests.
   */
  nonce?: string;
  /** Covered components, in order. Defaults to @method @path @query [+ content-digest]. */
  components?: string[];
  label?: string;
}

export interface SignedHeaders {
  'signature-input': string;
  signature: string;
}

/** The default component list for a request: content-digest joins when there is one. */
export function defaultComponents(req: SignableRequest): string[] {
  const c: string[] = [...REQUIRED_COMPONENTS];
  // The instance id binds the signature to one running instance; the audit
  // reason, the idempotency key, break-glass and dry-run change what the
  // server does or records. All are covered whenever sent.
  for (const h of ['content-digest', 'opsctl-instance', 'opsctl-reason', 'idempotency-key', 'opsctl-break-glass', 'opsctl-dry-run']) {
    if (req.headers[h] !== undefined) c.push(h);
  }
  return c;
}

/** Signs a request; returns the Signature-Input and Signature field values. */
export async function signRequest(req: SignableRequest, opts: SignOptions): Promise<SignedHeaders & { base: string }> {
  const label = opts.label ?? SIGNATURE_LABEL;
  const components = opts.components ?? defaultComponents(req);
  const params: Parameters = new Map<string, BareItem>([
    ['created', opts.created ?? Math.floor(Date.now() / 1000)],
    ['nonce', opts.nonce ?? randomBytes(16).toString('base64url')],
    ['keyid', opts.keyid],
    ['alg', SIGNATURE_ALG],
  ]);
  const inner: InnerList = [components.map((c): Item => [c, new Map()]), params];
  const base = createSignatureBase(inner, req);
  const sig = await opts.sign(Buffer.from(base, 'utf8'));
  return {
    'signature-input': serializeDictionary(new Map([[label, inner]])),
    signature: serializeDictionary(new Map([[label, [Buffer.from(sig), new Map()] as Item]])),
    base,
  };
}

export type VerifyFailureCode = 'auth.missing' | 'auth.unknown_key' | 'auth.bad_signature' | 'auth.expired';

export type VerifyResult =
  | { ok: true; keyid: string; created: number; nonce: string; components: string[]; base: string }
  | { ok: false; code: VerifyFailureCode; detail: string; keyid?: string };

export interface VerifyOptions {
  label?: string;
  /** Components that must be covered; the verifier adds content-digest when hasBody. */
  requiredComponents?: readonly string[];
  hasBody: boolean;
  /** The allowlisted public key for a keyid, or undefined. */
  resolveKey: (keyid: string) => KeyObject | undefined;
  /** Unix seconds; defaults to now. */
  now?: number;
  /** Accepted |now - created| in seconds (default 60). */
  maxSkewSeconds?: number;
}

/** Minimum nonce entropy the server accepts (docs/security.md). */
export const MIN_NONCE_BITS = 128;

/**
 * The most random bits a nonce string can carry, judged by its alphabet:
 * 4 per character for hex, 6 for base64/base64url and anything else. A nonce shorter than 128 bits by this measure is refused
 * (22 base64url characters, as opsctl sends, or 32 hex digits).
 */
export function nonceBits(nonce: string): number {
  if (/^[0-9a-fA-F]+$/.test(nonce)) return nonce.length * 4;
  const stripped = nonce.replace(/=+$/, '');
  if (/^[A-Za-z0-9+/_-]+$/.test(stripped)) return stripped.length * 6;
  return nonce.length * 6;
}

function fail(code: VerifyFailureCode, detail: string, keyid?: string): Extract<VerifyResult, { ok: false }> {
  return keyid === undefined ? { ok: false, code, detail } : { ok: false, code, detail, keyid };
}

/**
 * A request whose signature passed every check but the Ed25519 one: what
 * that check needs (the key, the base, the signature bytes).
 */
export type PreparedVerification = Extract<VerifyResult, { ok: true }> & { key: KeyObject; signature: Buffer };

/**
 * Everything verifyRequest() checks except the Ed25519 signature itself:
 * structure, coverage, parameters, key, time window, signature base. Lets a
 * server decide, between this and the (costly) verify, whether to spend it
 * (admission limits), and run the verify where it likes (verifyPrepared).
 */
export function prepareVerification(req: SignableRequest, opts: VerifyOptions): PreparedVerification | Extract<VerifyResult, { ok: false }> {
  const label = opts.label ?? SIGNATURE_LABEL;
  const inputHeader = headerValue(req, 'signature-input');
  const sigHeader = headerValue(req, 'signature');
  if (!inputHeader || !sigHeader) return fail('auth.missing', 'Signature-Input and Signature headers are required (RFC 9421)');

  let inner: InnerList;
  let signature: Buffer;
  let paramsLine: string | undefined;
  const fast = fastParse(label, inputHeader, sigHeader);
  if (fast) {
    ({ inner, signature, paramsLine } = fast);
  } else {
    let inputs, sigs;
    try {
      inputs = parseDictionary(inputHeader);
      sigs = parseDictionary(sigHeader);
    } catch {
      return fail('auth.bad_signature', 'Signature-Input or Signature is not a valid structured field');
    }
    const input = inputs.get(label);
    const sigMember = sigs.get(label);
    if (!input || !sigMember) return fail('auth.missing', `no signature labelled "${label}"`);
    if (!Array.isArray(input[0])) return fail('auth.bad_signature', 'Signature-Input member must be an inner list');
    if (Array.isArray(sigMember[0]) || !(sigMember[0] instanceof ArrayBuffer)) return fail('auth.bad_signature', 'Signature member must be a byte sequence');
    inner = input as InnerList;
    signature = Buffer.from(sigMember[0]);
  }
  const params = inner[1];

  const keyidRaw = params.get('keyid');
  const keyid = typeof keyidRaw === 'string' ? keyidRaw : undefined;
  for (const p of REQUIRED_PARAMS) {
    if (!params.has(p)) return fail('auth.bad_signature', `signature parameter "${p}" is required`, keyid);
  }
  const created = params.get('created');
  const nonce = params.get('nonce');
  const alg = params.get('alg');
  if (keyid === undefined) return fail('auth.bad_signature', 'keyid must be a string');
  if (typeof created !== 'number' || !Number.isInteger(created)) return fail('auth.bad_signature', 'created must be an integer', keyid);
  if (typeof nonce !== 'string' || nonceBits(nonce) < MIN_NONCE_BITS) {
    return fail('auth.bad_signature', `nonce must carry at least ${MIN_NONCE_BITS} random bits (e.g. 16 random bytes as base64url)`, keyid);
  }
  if (alg !== SIGNATURE_ALG && !(alg instanceof Token && alg.toString() === SIGNATURE_ALG)) return fail('auth.bad_signature', `alg must be "${SIGNATURE_ALG}"`, keyid);

  const covered = inner[0].map(([name]) => name);
  const required = [...(opts.requiredComponents ?? REQUIRED_COMPONENTS), ...(opts.hasBody ? ['content-digest'] : [])];
  for (const c of required) {
    if (!covered.includes(c)) return fail('auth.bad_signature', `signature must cover "${c}"`, keyid);
  }

  const key = opts.resolveKey(keyid);
  if (!key) return fail('auth.unknown_key', `key ${keyid} is not in the allowlist`, keyid);

  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const skew = opts.maxSkewSeconds ?? 60;
  if (Math.abs(now - created) > skew) {
    return fail('auth.expired', `signature created ${created - now > 0 ? 'in the future' : 'too long ago'} (${Math.abs(now - created)} s off, ±${skew} s accepted)`, keyid);
  }
  const expires = params.get('expires');
  if (expires !== undefined && (typeof expires !== 'number' || expires < now)) return fail('auth.expired', 'signature has expired', keyid);

  let base: string;
  try {
    base = createSignatureBase(inner, req, paramsLine);
  } catch (e) {
    return fail('auth.bad_signature', (e as Error).message, keyid);
  }
  return { ok: true, keyid, created, nonce, components: covered as string[], base, key, signature };
}

function settle(p: PreparedVerification, valid: boolean): VerifyResult {
  if (!valid) return fail('auth.bad_signature', 'signature does not verify', p.keyid);
  return { ok: true, keyid: p.keyid, created: p.created, nonce: p.nonce, components: p.components, base: p.base };
}

/**
 * The Ed25519 check of a prepared request. With `offThread`, node:crypto runs
 * it on libuv's thread pool (crypto.verify with a callback), so the calling
 * event loop stays free for other work meanwhile; the verdict is the same.
 */
export function verifyPrepared(p: PreparedVerification, offThread: true): Promise<VerifyResult>;
export function verifyPrepared(p: PreparedVerification, offThread?: false): VerifyResult;
export function verifyPrepared(p: PreparedVerification, offThread = false): VerifyResult | Promise<VerifyResult> {
  const data = Buffer.from(p.base, 'utf8');
  if (offThread) {
    return new Promise((resolve) => {
      try {
        cryptoVerify(null, data, p.key, p.signature, (err, ok) => resolve(settle(p, !err && ok)));
      } catch {
        resolve(settle(p, false));
      }
    });
  }
  let valid = false;
  try {
    valid = cryptoVerify(null, data, p.key, p.signature);
  } catch {
    valid = false;
  }
  return settle(p, valid);
}

/**
 * Verifies the `opsctl` signature of a request. Checks structure, coverage,
 * parameters, time window and the Ed25519 signature. Replay (nonce reuse) is
 * the caller's job, since it needs state: use the returned nonce.
 */
export function verifyRequest(req: SignableRequest, opts: VerifyOptions): VerifyResult {
  const p = prepareVerification(req, opts);
  return p.ok ? verifyPrepared(p) : p;
}
