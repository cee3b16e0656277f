/**
 * Help text from a captured layout, without commander: the layout step of
 * commander's Help.formatHelp (pad the terms of every section to one width,
 * wrap descriptions to the terminal), ported line for line so `opsctl
 * --help` can print without loading commander or building the command tree
 * (docs/architecture.md, "Start-up"). What goes into a layout — usage,
 * terms, descriptions, defaults, choices — is commander's own, captured at
 * build time (help-capture.ts); test/cli/start-fast.test.ts compares the
 * result with commander's output for every command at several widths.
 */

export interface HelpSection {
  heading: string;
  items: Array<[term: string, description: string]>;
  /** Stored without its items, which are the same for every command (start-data.ts). */
  shared?: true;
}

export interface HelpLayout {
  usage: string;
  description: string;
  sections: HelpSection[];
  /** What the command writes after its help (examples, endpoint notes), exactly. */
  after: string;
}

// commander's Help.minWidthToWrap.
const MIN_WIDTH_TO_WRAP = 40;

// eslint-disable-next-line no-control-regex -- SGR sequences are what this strips, as commander's stripColor
const SGR = /\x1b\[\d*(;\d*)*m/g;
const displayWidth = (s: string) => s.replace(SGR, '').length;

/** commander's Help.boxWrap. */
export function boxWrap(str: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return str;
  const wrapped: string[] = [];
  for (const line of str.split(/\r\n|\n/)) {
    const chunks = line.match(/[\s]*[^\s]+/g);
    if (chunks === null) {
      wrapped.push('');
      continue;
    }
    let sum = [chunks.shift()!];
    let sumWidth = displayWidth(sum[0]!);
    for (const chunk of chunks) {
      const w = displayWidth(chunk);
      if (sumWidth + w <= width) {
        sum.push(chunk);
        sumWidth += w;
        continue;
      }
      wrapped.push(sum.join(''));
      const next = chunk.trimStart();
      sum = [next];
      sumWidth = displayWidth(next);
    }
    wrapped.push(sum.join(''));
  }
  return wrapped.join('\n');
}

/** commander's Help.formatItem. */
function formatItem(term: string, termWidth: number, description: string, helpWidth: number): string {
  const indent = '  ';
  if (!description) return indent + term;
  const padded = term.padEnd(termWidth + term.length - displayWidth(term));
  const spacer = 2;
  const remaining = helpWidth - termWidth - spacer - indent.length;
  let formatted: string;
  if (remaining < MIN_WIDTH_TO_WRAP || /\n[^\S\r\n]/.test(description)) {
    formatted = description;
  } else {
    formatted = boxWrap(description, remaining).replace(/\n/g, '\n' + ' '.repeat(termWidth + spacer));
  }
  return indent + padded + ' '.repeat(spacer) + formatted.replace(/\n/g, `\n${indent}`);
}

/** The help text commander would print for this layout at `helpWidth` columns (its helpInformation()). */
export function renderHelp(layout: HelpLayout, helpWidth: number): string {
  const termWidth = Math.max(0, ...layout.sections.flatMap((s) => s.items.map(([term]) => displayWidth(term))));
  let out = [`Usage: ${layout.usage}`, ''];
  if (layout.description.length > 0) out = out.concat([boxWrap(layout.description, helpWidth), '']);
  for (const s of layout.sections) {
    if (!s.items.length) continue;
    out = out.concat([s.heading, ...s.items.map(([term, d]) => formatItem(term, termWidth, d, helpWidth)), '']);
  }
  return out.join('\n');
}
