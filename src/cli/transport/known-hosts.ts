/**
 * OpenSSH known_hosts files: parsing, host matching (patterns, negation,
 * `[host]:port`, hashed `|1|salt|hash` names) and appending a trusted key.
 * Key and hash comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { fingerprintOfBlob } from '../../protocol/fingerprint.js';
import { privateDirOf } from '../config/private-dir.js';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** `@revoked` lines refuse the key; `@cert-authority` lines are never returned. */
  revoked: boolean;
  /** Comma-separated patterns (plain lines) — absent for hashed lines. */
  patterns?: string[];
  /** Salt and HMAC-SHA1 of a hashed (`|1|…`) host name. */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** SSH wire-format key blob. */
  keyBlob: Buffer;
  file: string;
  line: number;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function readSshString(buf: Buffer, offset: number): string | undefined {
  if (offset + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(offset);
  if (offset + 4 + len > buf.length) return undefined;
  return buf.subarray(offset + 4, offset + 4 + len).toString('latin1');
}

/** The key type named inside an SSH key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOfBlob(blob: Buffer): string {
  return readSshString(blob, 0) ?? 'unknown';
}

/**
 * Parses known_hosts text. Malformed lines, unknown markers and
 * `@cert-authority` lines (opsctl does not do host certificates) are skipped.
 */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      const marker = fields.shift()!;
      if (marker === '@revoked') revoked = true;
      else continue;
    }
    const [hostsField, keyType, b64] = fields;
    if (!hostsField || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const keyBlob = Buffer.from(b64, 'base64');
    if (keyTypeOfBlob(keyBlob) !== keyType) continue;
    const entry: KnownHostEntry = { revoked, keyType, keyBlob, file, line: i + 1 };
    if (hostsField.startsWith('|1|')) {
      const [, , salt, hash] = hostsField.split('|');
      if (!salt || !hash) continue;
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
      if (entry.hashed.hash.length !== 20) continue;
    } else {
      entry.patterns = hostsField.split(',').filter(Boolean);
    }
    out.push(entry);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * Whether a pattern list matches a name like OpenSSH's match_hostname: a
 * matching negated pattern (`!pat`) vetoes the line, otherwise any positive
 * match wins. Matching is case-insensitive.
 */
export function patternsMatch(patterns: string[], name: string): boolean {
  const n = name.toLowerCase();
  let positive = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const glob = (negated ? p.slice(1) : p).toLowerCase();
    if (!globToRegExp(glob).test(n)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** Whether an entry's host field (plain or hashed) names `name`. */
export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name.toLowerCase()).digest();
    return timingSafeEqual(mac, entry.hashed.hash);
  }
  return patternsMatch(entry.patterns ?? [], name);
}

/** Constant-time equality of two key blobs. */
export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'mismatch'; expected: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'unknown' };

/**
 * Checks a presented key against parsed entries, as OpenSSH does: a matching
 * recorded key is accepted even when the host has others (several keys per
 * host are legitimate); a host with recorded keys but none matching is a
 * mismatch. A revoked key is refused whatever host line carries it.
 */
export function checkHostKey(entries: KnownHostEntry[], name: string, keyBlob: Buffer): HostKeyVerdict {
  for (const e of entries) {
    if (e.revoked && sameKey(e.keyBlob, keyBlob)) return { status: 'revoked', entry: e };
  }
  const recorded = entries.filter((e) => !e.revoked && entryMatchesHost(e, name));
  const hit = recorded.find((e) => sameKey(e.keyBlob, keyBlob));
  if (hit) return { status: 'ok', entry: hit };
  if (recorded.length) return { status: 'mismatch', expected: recorded };
  return { status: 'unknown' };
}

/** Key types recorded for a host, in file order, without duplicates. */
export function recordedKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  const types: string[] = [];
  for (const e of entries) {
    if (!e.revoked && entryMatchesHost(e, name) && !types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/** Reads and parses known_hosts files in order; missing files count as empty. */
export async function readKnownHostsFiles(files: string[]): Promise<KnownHostEntry[]> {
  const parts = await Promise.all(
    files.map(async (file) => {
      try {
        return parseKnownHosts(await fs.readFile(file, 'utf8'), file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return [];
        throw new Error(`cannot read known_hosts file ${file}: ${(e as Error).message}`, { cause: e });
      }
    }),
  );
  return parts.flat();
}

/** The known_hosts line for a key: `name type base64`. */
export function knownHostsLine(name: string, keyBlob: Buffer): string {
  return `${name} ${keyTypeOfBlob(keyBlob)} ${keyBlob.toString('base64')}`;
}

/**
 * Appends a trusted key to a known_hosts file, creating it 0600 (and its
 * directory 0700) when needed. The directory must be the operator's and
 * writable by nobody else, and the file is never opened through a link or
 * when it is not the operator's own regular file (README, "Local files"):
 * whoever could swap it could make opsctl trust their host key. Returns the
 * entry as it will be parsed later.
 */
export async function appendKnownHost(file: string, name: string, keyBlob: Buffer): Promise<KnownHostEntry> {
  privateDirOf(file, 'known_hosts', { tighten: false });
  const handle = await fs.open(file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  try {
    const st = await handle.stat();
    const me = process.getuid?.();
    if (!st.isFile() || (me !== undefined && st.uid !== me)) throw new Error(`${file} is not a regular file of yours; not writing to it`);
    const { size } = await handle.stat();
    let lead = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) lead = '\n';
    }
    await handle.appendFile(`${lead}${knownHostsLine(name, keyBlob)}\n`);
  } finally {
    await handle.close();
  }
  return { revoked: false, patterns: [name], keyType: keyTypeOfBlob(keyBlob), keyBlob, file, line: 0 };
}

/** SHA256 fingerprint of a key blob, as `ssh-keygen -lf` prints it. */
export const fingerprint = fingerprintOfBlob;
