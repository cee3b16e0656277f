import type { KeyObject } from 'node:crypto';
import { ed25519KeyFromBlob, fingerprintOfBlob, isRole, parseOpenSshPublicKey, type Role } from '../../protocol/index.js';

/** One usable allowlist key. */
export interface AllowlistEntry {
  keyid: string;
  key: KeyObject;
  role: Role;
  /** The line's comment; the key's fingerprint when there is none. */
  name: string;
  line: number;
}

export interface AllowlistProblem {
  line: number;
  reason: string;
}

export interface ParsedAllowlist {
  entries: Map<string, AllowlistEntry>;
  problems: AllowlistProblem[];
}

/**
 * SSH options that only restrict SSH features the internal port does not
 * offer, so they can be ignored without widening anything. Any other option
 * (from=, expiry-time=, command=, …) restricts something we cannot enforce,
 * so such a line is skipped rather than honoured partially.
 */
const IGNORABLE_OPTIONS = new Set(['no-pty', 'no-port-forwarding', 'no-agent-forwarding', 'no-x11-forwarding', 'no-user-rc', 'restrict']);

const KEY_TYPE = /^(ssh-|ecdsa-|sk-)/;

/** Splits `opt1,opt2="a, b" rest` into the options text and the rest (quotes respected). */
function splitOptions(line: string): { options: string; rest: string } {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && quoted) { i++; continue; }
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) return { options: line.slice(0, i), rest: line.slice(i).trim() };
  }
  return { options: line, rest: '' };
}

function parseOptions(text: string): Array<{ name: string; value: string | undefined }> {
  const out: Array<{ name: string; value: string | undefined }> = [];
  let i = 0;
  while (i < text.length) {
    const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i));
    if (!m) throw new Error(`cannot parse options near "${text.slice(i, i + 20)}"`);
    const name = m[0].toLowerCase();
    i += m[0].length;
    let value: string | undefined;
    if (text[i] === '=') {
      i++;
      if (text[i] !== '"') throw new Error(`option ${name} needs a quoted value`);
      i++;
      let v = '';
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        v += text[i];
        i++;
      }
      if (text[i] !== '"') throw new Error(`unterminated quote in option ${name}`);
      i++;
      value = v;
    }
    out.push({ name, value });
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`expected "," after option ${name}`);
      i++;
    }
  }
  return out;
}

function parseLine(raw: string, lineNo: number): AllowlistEntry {
  let text = raw.trim();
  let role: Role = 'viewer';
  if (!KEY_TYPE.test(text)) {
    const { options, rest } = splitOptions(text);
    let roleSeen = false;
    for (const opt of parseOptions(options)) {
      if (opt.name === 'role') {
        if (roleSeen) throw new Error('role is given twice');
        if (!isRole(opt.value)) throw new Error(`unknown role "${String(opt.value)}" (viewer, operator or admin)`);
        role = opt.value;
        roleSeen = true;
      } else if (!IGNORABLE_OPTIONS.has(opt.name)) {
        throw new Error(`option "${opt.name}" cannot be enforced by the internal port`);
      }
    }
    text = rest;
  }
  const key = parseOpenSshPublicKey(text);
  if (key.type !== 'ssh-ed25519') throw new Error(`key type ${key.type} is not supported (only ssh-ed25519)`);
  const keyid = fingerprintOfBlob(key.blob);
  return { keyid, key: ed25519KeyFromBlob(key.blob), role, name: key.comment || keyid, line: lineNo };
}

/**
 * Parses an authorized_keys-style allowlist: `[options] ssh-ed25519 BASE64
 * comment`, with option `role="viewer|operator|admin"` (default viewer) and
 * the comment as the principal name. Bad lines are reported and skipped. A
 * key listed twice keeps the lesser role, so a stray line never widens access.
 */
export function parseAuthorizedKeys(text: string): ParsedAllowlist {
  const entries = new Map<string, AllowlistEntry>();
  const problems: AllowlistProblem[] = [];
  const ranks = { viewer: 0, operator: 1, admin: 2 } as const;
  text.split(/\r?\n/).forEach((raw, idx) => {
    const lineNo = idx + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    let entry: AllowlistEntry;
    try {
      entry = parseLine(trimmed, lineNo);
    } catch (e) {
      problems.push({ line: lineNo, reason: (e as Error).message });
      return;
    }
    const prior = entries.get(entry.keyid);
    if (prior) {
      problems.push({ line: lineNo, reason: `key ${entry.keyid} is listed again (line ${prior.line}); keeping the lesser role` });
      if (ranks[entry.role] >= ranks[prior.role]) return;
    }
    entries.set(entry.keyid, entry);
  });
  return { entries, problems };
}
