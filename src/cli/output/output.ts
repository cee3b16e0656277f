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
  /**
   * How the column gives way on a terminal narrower than the table (piped
   * output and -o json are always whole; see fitColumns):
   * - 'id': what an operator types next (a flag or task name, a job or
   *   approval id, a host): never cut. A table that marks none keeps its
   *   first column whole.
   * - 'text': free text (descriptions, summaries, reasons): the first to
   *   give way, cut to one line ending in "…".
   * Any other column is cut after the text ones.
   */
  fit?: 'id' | 'text';
  /**
   * Left out (with a note) when the table cannot fit the terminal with it:
   * secondary detail such as who changed a flag and when. A number orders
   * them (1 goes first; true is 1); among equals the last declared goes first.
   */
  optional?: boolean | number;
  /** Never cut below this many characters (a timestamp keeps its time of day). */
  minWidth?: number;
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

/** Display width of one line without colour codes (cli-table3's own measure is used when it is loaded). */
const plainWidth = (s: string) => [...s.replace(ANSI, '')].length;

/** What a table looks like on a terminal of a given width: which columns, how wide, cut or wrapped. */
export interface TableFit {
  /** Indexes of the columns shown, in order. */
  keep: number[];
  /** Headers of the optional columns left out to fit. */
  dropped: string[];
  /** cli-table3 widths (padding included) of the kept columns; undefined: natural widths. */
  colWidths?: number[];
  /** true: cells that do not fit wrap (--wide); false: they are cut with "…". */
  wordWrap: boolean;
}

/** Cell padding cli-table3 adds on each side of a column. */
const PAD = 2;
/** A cut text column keeps at least this much (before the other columns give way). */
const TEXT_MIN = 12;
/** Other columns keep this much before a text column gives way further. */
const OTHER_MIN = 6;
/** Below this nothing useful is left ("ab…"). */
const FLOOR = 3;

/**
 * Fits a table to a terminal (README, "Runbooks"): the identifying column
 * (`fit: 'id'`, else the first) is never cut — it is what the operator types
 * next; free text (`fit: 'text'`) gives way first, down to TEXT_MIN; then
 * `optional` columns are left out, last first; then every other column is
 * cut, widest first. Cut cells end in "…" on one line. `wide` (--wide) cuts
 * and leaves out nothing: cells wrap at word boundaries instead, no column
 * narrower than its longest word (so the table may be wider than the
 * terminal). `cells[0]` is the header row.
 */
export function fitColumns(
  columns: Array<Pick<Column, 'header' | 'fit' | 'optional' | 'minWidth'>>,
  cells: string[][],
  termWidth: number | undefined,
  opts: { wide?: boolean; measure?: (s: string) => number } = {},
): TableFit {
  const all = columns.map((_, i) => i);
  if (!termWidth || !cells.length) return { keep: all, dropped: [], wordWrap: false };
  const measure = opts.measure ?? plainWidth;
  const natural = columns.map((_, i) => Math.max(0, ...cells.map((r) => Math.max(...String(r[i] ?? '').split('\n').map(measure)))));
  // --wide wraps at word boundaries, and cli-table3 cuts a word longer than
  // its column: no column is narrowed below its longest word.
  const longestWord = columns.map((_, i) => (opts.wide ? Math.max(0, ...cells.map((r) => Math.max(0, ...String(r[i] ?? '').split(/\s+/).map(measure)))) : 0));
  const hasId = columns.some((c) => c.fit === 'id');
  const isId = (i: number) => (hasId ? columns[i]!.fit === 'id' : i === 0);
  const isText = (i: number) => !isId(i) && columns[i]!.fit === 'text';
  const isOther = (i: number) => !isId(i) && !isText(i);

  let keep = all;
  const dropped: number[] = [];
  const fit = (k: number[]) => {
    // Borders: one more than the columns; padding on both sides of each.
    const avail = termWidth - (k.length + 1) - PAD * k.length;
    const widths = k.map((i) => natural[i]!);
    let over = widths.reduce((a, b) => a + b, 0) - avail;
    /** Narrows the widest column of a group by one until the table fits or none is above `min`. */
    const shrink = (group: (i: number) => boolean, min: number) => {
      while (over > 0) {
        let widest = -1;
        for (let j = 0; j < k.length; j++) {
          const floor = Math.max(min, columns[k[j]!]!.minWidth ?? 0, longestWord[k[j]!]!);
          if (group(k[j]!) && widths[j]! > floor && (widest < 0 || widths[j]! > widths[widest]!)) widest = j;
        }
        if (widest < 0) return;
        widths[widest]! -= 1;
        over -= 1;
      }
    };
    return { widths, natural: over <= 0, shrink, over: () => over };
  };
  let f = fit(keep);
  if (f.natural) return { keep, dropped: [], wordWrap: false };
  // Free text gives way first; then (not under --wide) secondary columns go,
  // the last declared first; then the rest is cut, widest first.
  f.shrink(isText, TEXT_MIN);
  if (!opts.wide) {
    const rank = (i: number) => (columns[i]!.optional === true ? 1 : Number(columns[i]!.optional));
    const droppable = all.filter((i) => columns[i]!.optional && !isId(i)).sort((a, b) => rank(a) - rank(b) || b - a);
    for (const i of droppable) {
      if (f.over() <= 0) break;
      keep = keep.filter((k) => k !== i);
      dropped.push(i);
      f = fit(keep);
      f.shrink(isText, TEXT_MIN);
    }
  }
  f.shrink(isOther, OTHER_MIN);
  f.shrink(isText, FLOOR);
  f.shrink(isOther, FLOOR);
  return { keep, dropped: dropped.sort((a, b) => a - b).map((i) => columns[i]!.header), colWidths: f.widths.map((w) => w + PAD), wordWrap: Boolean(opts.wide) };
}

/** cli-table3's constructor, loaded only when a table is drawn on a terminal. */
export type TableConstructor = new (opts: object) => { push(...rows: unknown[]): void; toString(): string };

export interface OutputOptions {
  /** --wide: on a terminal, tables cut and leave out nothing (cells wrap instead). */
  wide?: boolean;
  /** Display width of a string (cli-table3's, so cut cells line up with what it draws). */
  measure?: (s: string) => number;
}

export class Output {
  readonly format: OutputFormat;
  readonly colors: Colors;
  private readonly io: IOStreams;
  private readonly Table: TableConstructor | undefined;
  private readonly options: OutputOptions;

  constructor(io: IOStreams, format: OutputFormat, colors: Colors | undefined, Table?: TableConstructor, options: OutputOptions = {}) {
    this.io = io;
    this.format = format;
    this.colors = colors ?? plain;
    this.Table = Table;
    this.options = options;
  }

  /** --wide was given. */
  get wide(): boolean {
    return Boolean(this.options.wide);
  }

  get json(): boolean {
    return this.format === 'json';
  }

  /** Whether stdout is a terminal (tables drawn, not tab-separated). */
  get tty(): boolean {
    return Boolean(this.io.stdout.isTTY);
  }

  /** The command streams (--follow, --watch): under -o json every stdout line is one JSON object. */
  private streaming = false;

  /**
   * Marks this run as a stream (--follow, --watch): from now on a JSON
   * document is written on one line too, so a line-by-line reader (`jq -c`,
   * `while read`) never meets a pretty-printed one after the NDJSON lines.
   */
  beginStream(): void {
    this.streaming = true;
  }

  /** The one JSON document of a -o json run (one line when the run streams). */
  printJson(value: unknown): void {
    this.io.stdout.write((this.streaming ? JSON.stringify(value) : JSON.stringify(value, null, 2)) + '\n');
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
      const fit = fitColumns(columns, [columns.map((c) => c.header.toUpperCase()), ...cells], this.io.stdout.columns, {
        wide: this.wide,
        ...(this.options.measure ? { measure: this.options.measure } : {}),
      });
      const pick = <T>(row: T[]) => fit.keep.map((i) => row[i]!);
      const t = new this.Table({
        head: pick(columns).map((c) => this.colors.bold(c.header.toUpperCase())),
        chars,
        style: { head: [], border: [] },
        ...(fit.colWidths ? { colWidths: fit.colWidths, wordWrap: fit.wordWrap, truncate: '…' } : {}),
      });
      for (const row of cells) t.push(pick(row));
      this.io.stdout.write(t.toString() + '\n');
      if (fit.dropped.length) this.note(this.colors.dim(`(${fit.dropped.join(', ')} left out to fit ${this.io.stdout.columns} columns; --wide shows everything)`));
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
export async function createOutput(io: IOStreams, format: OutputFormat, color: boolean, opts: { wide?: boolean } = {}): Promise<Output> {
  let colors: Colors | undefined;
  if (color) {
    const { Chalk } = await import('chalk');
    const c = new Chalk({ level: 1 });
    const wrap = (style: (s: string) => string) => (s: string) => style(safe(s));
    colors = { bold: wrap(c.bold), dim: wrap(c.dim), red: wrap(c.red), green: wrap(c.green), yellow: wrap(c.yellow), cyan: wrap(c.cyan) };
  }
  let Table: TableConstructor | undefined;
  let measure: ((s: string) => number) | undefined;
  if (format === 'table' && io.stdout.isTTY) {
    Table = (await import('cli-table3')).default as unknown as TableConstructor;
    // cli-table3's own width (wide characters count twice), so a cut cell fits exactly.
    // @ts-expect-error -- cli-table3 ships no types for its utils module
    const utils = (await import('cli-table3/src/utils.js')) as { default?: { strlen?: (s: string) => number }; strlen?: (s: string) => number };
    measure = utils.strlen ?? utils.default?.strlen;
  }
  return new Output(io, format, colors, Table, { ...(opts.wide ? { wide: true } : {}), ...(measure ? { measure } : {}) });
}
