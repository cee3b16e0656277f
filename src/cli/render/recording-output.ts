/**
 * The renderer seam of a fleet run: a command writes through Output as
 * always, and for each host a RecordingOutput keeps what it wrote as data
 * (its JSON document, tables, key/value blocks, lines) instead of printing
 * it, so one renderer can merge N hosts. NDJSON stream lines and notes are
 * live: they go out at once, tagged with the host.
 */
import type { IOStreams } from '../io.js';
import { Output, type Colors, type Column } from '../output/output.js';
import type { OutputFormat } from '../globals.js';
import { sanitizeHost } from './host-label.js';

export type Recorded =
  | { kind: 'json'; value: unknown }
  | { kind: 'table'; rows: Record<string, unknown>[]; columns: Column[]; empty?: string }
  | { kind: 'fields'; pairs: Array<[string, unknown]> }
  | { kind: 'line'; text: string };

export class RecordingOutput extends Output {
  readonly items: Recorded[] = [];
  private readonly realIo: IOStreams;

  constructor(io: IOStreams, format: OutputFormat, colors: Colors | undefined, readonly host: string) {
    super(io, format, colors);
    this.realIo = io;
  }

  override get tty(): boolean {
    return Boolean(this.realIo.stdout.isTTY);
  }

  override printJson(value: unknown): void {
    this.items.push({ kind: 'json', value });
  }

  override printJsonLine(value: unknown): void {
    const line = value && typeof value === 'object' && !Array.isArray(value) ? { host: this.host, ...(value as object) } : { host: this.host, value };
    this.realIo.stdout.write(JSON.stringify(line) + '\n');
  }

  override table(rows: Record<string, unknown>[], columns: Column[], opts: { empty?: string; header?: boolean } = {}): void {
    this.items.push({ kind: 'table', rows, columns, ...(opts.empty ? { empty: opts.empty } : {}) });
  }

  override fields(pairs: Array<[string, unknown]>): void {
    this.items.push({ kind: 'fields', pairs });
  }

  override line(text = ''): void {
    if (text === '') return; // spacing between blocks is the renderer's job
    this.items.push({ kind: 'line', text });
  }

  private tag(): string {
    return `[${sanitizeHost(this.host)}] `;
  }

  override note(text: string): void {
    this.realIo.stderr.write(this.tag() + text + '\n');
  }

  override success(text: string): void {
    this.realIo.stderr.write(this.tag() + this.colors.green('✓ ') + text + '\n');
  }

  override warn(text: string): void {
    this.realIo.stderr.write(this.tag() + this.colors.yellow('! ') + text + '\n');
  }
}
