/** Escaping text for roff (man macros), so any help string renders without groff warnings. */

const SPECIAL: Record<string, string> = {
  '—': '\\(em',
  '–': '\\(en',
  '…': '.\\|.\\|.',
  '‘': '\\(oq',
  '’': '\\(cq',
  '“': '\\(lq',
  '”': '\\(rq',
  '→': '\\(->',
  '←': '\\(<-',
  '±': '\\(+-',
  '×': '\\(mu',
  '≤': '\\(<=',
  '≥': '\\(>=',
  '✓': '\\[u2713]',
  '✗': '\\[u2717]',
  '·': '\\(pc',
};

/** Escapes running text: backslashes, hyphens, non-ASCII; a leading `.` or `'` cannot start a request. */
export function roffText(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\e';
    else if (ch === '-') out += '\\-';
    else if (ch.charCodeAt(0) < 128) out += ch;
    else out += SPECIAL[ch] ?? `\\[u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`;
  }
  return out.replace(/^([.'])/gm, '\\&$1');
}

/** Bold (commands, flags). */
export function bold(s: string): string {
  return `\\fB${roffText(s)}\\fR`;
}

/** Italic (placeholders). */
export function italic(s: string): string {
  return `\\fI${roffText(s)}\\fR`;
}
