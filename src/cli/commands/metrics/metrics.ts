import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { UsageError } from '../../errors/usage-error.js';
import { watchInterrupt, sleep } from '../../jobs/interrupt.js';
import { InterruptedError } from '../../errors/interrupted-error.js';
import { sanitize } from '../../output/sanitize.js';
import { filterJsonMetrics, filterPrometheusText, type JsonMetric } from './prometheus-filter.js';

export interface MetricsOptions {
  filter?: string;
  watch: boolean;
  /** Seconds between refreshes with --watch. */
  interval: number;
  /** Aborting it acts like Ctrl-C (tests). */
  interrupt?: AbortSignal;
}

function parseInterval(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.2 || n > 3600) throw new UsageError(`--interval must be seconds between 0.2 and 3600, got "${v}"`);
  return n;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('metrics')
    .description(summaryOf('metrics.get'))
    .option('--filter <regex>', 'only metrics whose name matches this regular expression')
    .option('-w, --watch', 'refresh until Ctrl-C (exit 130; redraws on a terminal, repeats when piped)', false)
    .addOption(new Option('--interval <seconds>', 'refresh interval for --watch').argParser(parseInterval).default(2))
    .addHelpText('after', `${endpointHelp('metrics.get')}\n-o json prints the JSON form (one document; one line per refresh with --watch).`)
    .action(async (o: { filter?: string; watch?: boolean; interval: number }) =>
      run(f, { watch: Boolean(o.watch), interval: o.interval, ...(o.filter !== undefined ? { filter: o.filter } : {}) }),
    );
}

function compile(filter: string | undefined): RegExp | undefined {
  if (filter === undefined) return undefined;
  try {
    return new RegExp(filter);
  } catch (e) {
    throw new UsageError(`--filter is not a valid regular expression: ${(e as Error).message}`);
  }
}

export async function run(f: Factory, opts: MetricsOptions): Promise<void> {
  const re = compile(opts.filter);
  const client = await f.client();
  const out = await f.output();
  if (opts.watch) out.beginStream();
  const fetchOnce = async (signal?: AbortSignal): Promise<{ text?: string; json?: JsonMetric[] }> => {
    if (out.json) {
      const res = await client.call<{ metrics: JsonMetric[] } | JsonMetric[]>('metrics.get', {}, { accept: 'application/json', ...(signal ? { signal } : {}) });
      const all = Array.isArray(res) ? res : res.metrics ?? [];
      return { json: re ? filterJsonMetrics(all, re) : all };
    }
    const text = await client.call<string>('metrics.get', {}, { accept: 'text/plain', ...(signal ? { signal } : {}) });
    // Metric help text and label values are the service's: shown, never executed.
    return { text: sanitize(re ? filterPrometheusText(text, re) : text, { newlines: true, tabs: true }) };
  };

  if (!opts.watch) {
    const m = await fetchOnce();
    if (m.json) out.printJson({ metrics: m.json });
    else {
      f.io.stdout.write(m.text ?? '');
      if (!m.text && re) out.note(`no metric name matches /${opts.filter}/`);
    }
    return;
  }

  const interrupt = watchInterrupt(opts.interrupt);
  const redraw = !out.json && Boolean(f.io.stdout.isTTY);
  try {
    while (!interrupt.signal.aborted) {
      let m;
      try {
        m = await fetchOnce(interrupt.signal);
      } catch (e) {
        if (interrupt.signal.aborted) break;
        throw e;
      }
      const now = new Date().toISOString();
      if (m.json) out.printJsonLine({ time: now, metrics: m.json });
      else if (redraw) {
        // Home + clear screen, then the whole page: a flicker-free enough redraw without a TUI library.
        f.io.stdout.write(`\x1b[H\x1b[2J${out.colors.dim(`every ${opts.interval}s${opts.filter ? `, filter /${opts.filter}/` : ''} — ${now} — Ctrl-C to stop`)}\n\n${m.text || '(no metric matches)\n'}`);
      } else {
        f.io.stdout.write(`# ${now}\n${m.text ?? ''}\n`);
      }
      if (!(await sleep(opts.interval * 1000, interrupt.signal))) break;
    }
  } finally {
    interrupt.dispose();
  }
  // Ctrl-C is how a watch ends, and it still exits 130 like every other
  // interrupted command: a script can tell it from a natural end.
  if (interrupt.signal.aborted) throw new InterruptedError();
}
