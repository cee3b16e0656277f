import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** A parsed OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export interface OpenSshPublicKey {
  type: string;
  /** The SSH wire-format key blob (what the base64 field decodes to). */
  blob: Buffer;
  comment: string;
}

function readString(buf: Buffer, offset: number): { value: Buffer; next: number } {
  if (offset + 4 > buf.length) throw new Error('truncated key blob');
  const len = buf.readUInt32BE(offset);
  const start = offset + 4;
  if (start + len > buf.length) throw new Error('truncated key blob');
  return { value: buf.subarray(start, start + len), next: start + len };
}

function sshString(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** Parses `type base64 [comment]`; throws with a readable message on anything else. */
export function parseOpenSshPublicKey(line: string): OpenSshPublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) throw new Error('not an OpenSSH public key line (expected "TYPE BASE64 [COMMENT]")');
  const [type, b64] = parts as [string, string];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('public key is not valid base64');
  const blob = Buffer.from(b64, 'base64');
  const inner = readString(blob, 0);
  if (inner.value.toString('latin1') !== type) throw new Error(`key type "${type}" does not match the key blob`);
  return { type, blob, comment: parts.slice(2).join(' ') };
}

/** OpenSSH's SHA256 fingerprint of a key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOfBlob(blob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Fingerprint of an OpenSSH public key line. */
export function fingerprintOfPublicKeyLine(line: string): string {
  return fingerprintOfBlob(parseOpenSshPublicKey(line).blob);
}

/** The node:crypto public key of an `ssh-ed25519` blob. */
export function ed25519KeyFromBlob(blob: Buffer): KeyObject {
  const t = readString(blob, 0);
  if (t.value.toString('latin1') !== 'ssh-ed25519') throw new Error(`unsupported key type ${t.value.toString('latin1')} (only ssh-ed25519)`);
  const k = readString(blob, t.next);
  if (k.value.length !== 32) throw new Error('ed25519 public key must be 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.value.toString('base64url') }, format: 'jwk' });
}

/** The `ssh-ed25519` wire blob of a node:crypto ed25519 public (or private) key. */
export function ed25519BlobFromKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('not an ed25519 key');
  return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x, 'base64url'))]);
}

/** `ssh-ed25519 AAAA… comment` for a node:crypto ed25519 key. */
export function ed25519PublicKeyLine(key: KeyObject, comment = ''): string {
  const line = `ssh-ed25519 ${ed25519BlobFromKey(key).toString('base64')}`;
  return comment ? `${line} ${comment}` : line;
}
