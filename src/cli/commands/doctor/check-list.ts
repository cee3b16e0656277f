/**
 * The doctor's check list: one line per check as it completes (so a slow hop
 * shows where it hangs), or one JSON document at the end under -o json.
 */
import type { Output } from '../../output/output.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface CheckResult {
  /** Stable id: config, identity, bastion, host, internal-port, protocol, clock-skew. */
  check: string;
  /** What the line names: `bastion jump1`, `internal port 127.0.0.1:9900`. */
  label: string;
  status: CheckStatus;
  detail: string;
  ms?: number;
  /** For a failure: the command that fixes it (or shows what to fix). */
  fix?: string;
}

export class CheckList {
  readonly results: CheckResult[] = [];
  private readonly out: Output;

  constructor(out: Output) {
    this.out = out;
  }

  add(result: CheckResult): CheckResult {
    this.results.push(result);
    if (!this.out.json) this.print(result);
    return result;
  }

  private print(r: CheckResult): void {
    const c = this.out.colors;
    const mark = r.status === 'ok' ? c.green('✓') : r.status === 'warn' ? c.yellow('!') : r.status === 'fail' ? c.red('✗') : c.dim('-');
    const time = r.ms !== undefined ? c.dim(`  ${r.ms} ms`) : '';
    this.out.line(`${mark} ${c.bold(r.label.padEnd(22))} ${r.detail}${time}`);
    if (r.fix) this.out.line(`  ${' '.repeat(22)} fix: ${c.cyan(r.fix)}`);
  }
}
