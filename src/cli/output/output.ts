/**
 * Human and machine output. `-o json` writes exactly one JSON document to
 * stdout (NDJSON only for --follow streams); tables go to stdout, drawn with
 * cli-table3 on a terminal and as tab-separated text when piped; notes,
 * progress and colour go to stderr. Every string written in human form
 * passes the one sanitiser (sanitize.ts): values from the service cannot
 * move the cursor, clear the screen or write the clipboard; -o json is exact.
 */
import type { IOStreams } from '../io.js';
import type { OutputFormat } from '../globals.js';
import { sanitize, sanitizeDeep } from './sanitize.js';

export interface Column {
  key: string;
  header: string;
  /** Turns a cell value into display text (default: String / JSON). */
  format?: (value: unknown, row: Record<string, unknown>) => string;
}

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/** Text around which the CLI's own colours go: sanitised first, colours kept. */
const safe = (s: string) => sanitize(s, { newlines: true, keepColors: true });

const plain: Colors = { bold: safe, dim: safe, red: safe, green: safe, yellow: safe, cyan: safe };

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

// eslint-disable-next-line no-control-regex -- it matches terminal control characters on purpose
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Column widths that fit the terminal: when the natural table is wider, the
 * widest columns give way (wrapping their text) until it fits, so a long
 * description never breaks every line of a table in two.
 */
export function fitWidths(rows: string[][], termWidth: number | undefined): { colWidths?: number[]; wordWrap?: boolean } {
  if (!termWidth || !rows.length) return {};
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => Math.max(...String(r[i] ?? '').replace(ANSI, '').split('\n').map((l) => l.length)))) + 2);
  const total = () => widths.reduce((a, b) => a + b, 0) + widths.length + 1;
  if (total() <= termWidth) return {};
  const MIN = 8;
  while (total() > termWidth) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= MIN) break;
    widths[widest]! -= 1;
  }
  return { colWidths: widths, wordWrap: true };
}

export class Output {
  readonly format: OutputFormat;
  readonly colors: Colors;
  private readonly io: IOStreams;
  private readonly Table: (new (opts: object) => { push(...rows: unknown[]): void; toString(): string }) | undefined;

  constructor(io: IOStreams, format: OutputFormat, colors: Colors | undefined, Table?: new (opts: object) => { push(...rows: unknown[]): void; toString(): string }) {
    this.io = io;
    this.format = format;
    this.colors = colors ?? plain;
    this.Table = Table;
  }

  get json(): boolean {
    return this.format === 'json';
  }

  /** Whether stdout is a terminal (tables drawn, not tab-separated). */
  get tty(): boolean {
    return Boolean(this.io.stdout.isTTY);
  }

  /** The one JSON document of a -o json run. */
  printJson(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** One NDJSON line (for --follow streams under -o json). */
  printJsonLine(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value) + '\n');
  }

  /** Prints `data` as JSON under -o json, else calls `human`. */
  emit(data: unknown, human: () => void): void {
    if (this.json) this.printJson(data);
    else human();
  }

  /**
   * Rows as a table. `header: false` (piped output only) continues an earlier
   * tab-separated table, for follow streams that print rows as they come.
   */
  table(rawRows: Record<string, unknown>[], columns: Column[], opts: { empty?: string; header?: boolean } = {}): void {
    // Cells are sanitised before they are formatted (and coloured): a newline
    // or tab from the service shows as \n / \t and cannot break the layout.
    const rows = sanitizeDeep(rawRows);
    const text = (c: Column, r: Record<string, unknown>) => (c.format ? c.format(r[c.key], r) : cellText(r[c.key]));
    if (!rows.length) {
      if (opts.empty) this.note(opts.empty);
      return;
    }
    if (this.tty && this.Table) {
      // No rule between rows: compact like gh/kubectl, still boxed.
      const chars = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
      const cells = rows.map((r) => columns.map((c) => text(c, r)));
      // Headers are upper case on a terminal as when piped: one spelling to read and to grep.
      const fit = fitWidths([columns.map((c) => c.header.toUpperCase()), ...cells], this.io.stdout.columns);
      const t = new this.Table({ head: columns.map((c) => this.colors.bold(c.header.toUpperCase())), chars, style: { head: [], border: [] }, ...fit });
      for (const row of cells) t.push(row);
      this.io.stdout.write(t.toString() + '\n');
      return;
    }
    // Piped: tab-separated with a header line, easy for cut/awk.
    if (opts.header !== false) this.io.stdout.write(columns.map((c) => c.header.toUpperCase()).join('\t') + '\n');
    for (const r of rows) this.io.stdout.write(columns.map((c) => text(c, r).replace(/[\t\n]/g, ' ')).join('\t') + '\n');
  }

  /** Key/value block for one object. */
  fields(pairs: Array<[string, unknown]>): void {
    const width = Math.max(...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) {
      const value = typeof v === 'string' ? sanitize(v, { keepColors: true }) : cellText(sanitizeDeep(v));
      this.io.stdout.write(`${this.colors.bold(k.padEnd(width))}  ${value}\n`);
    }
  }

  /** Plain text to stdout (human mode only). */
  line(text = ''): void {
    this.io.stdout.write(safe(text) + '\n');
  }

  /** A human note on stderr (never on stdout, so -o json stays clean). */
  note(text: string): void {
    this.io.stderr.write(safe(text) + '\n');
  }

  success(text: string): void {
    this.io.stderr.write(this.colors.green('✓ ') + safe(text) + '\n');
  }

  warn(text: string): void {
    this.io.stderr.write(this.colors.yellow('! ') + safe(text) + '\n');
  }
}

/** Builds an Output, loading chalk and cli-table3 only when they will be used. */
export async function createOutput(io: IOStreams, format: OutputFormat, color: boolean): Promise<Output> {
  let colors: Colors | undefined;
  if (color) {
    const { Chalk } = await import('chalk');
    const c = new Chalk({ level: 1 });
    const wrap = (style: (s: string) => string) => (s: string) => style(safe(s));
    colors = { bold: wrap(c.bold), dim: wrap(c.dim), red: wrap(c.red), green: wrap(c.green), yellow: wrap(c.yellow), cyan: wrap(c.cyan) };
  }
  let Table;
  if (format === 'table' && io.stdout.isTTY) Table = (await import('cli-table3')).default as unknown as new (opts: object) => { push(...rows: unknown[]): void; toString(): string };
  return new Output(io, format, colors, Table);
}
