import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { UsageError } from '../../errors/usage-error.js';
import { problemFromResponse } from '../../client/client.js';
import { REQUEST_ID_HEADER } from '../../../protocol/headers.js';
import { buildRequest, STANDARD_ENDPOINTS } from '../../../protocol/catalog.js';
import { watchInterrupt, sleep } from '../../jobs/interrupt.js';
import { InterruptedError } from '../../errors/interrupted-error.js';
import { auditColumns, type AuditRecord } from './audit-types.js';

export interface AuditTailOptions {
  limit: number;
  follow: boolean;
  /** Poll period with --follow (ms). */
  pollMs?: number;
  interrupt?: AbortSignal;
}

function parseLimit(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1000) throw new UsageError(`-n must be 1-1000, got "${v}"`);
  return n;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('tail')
    .description(summaryOf('audit.tail'))
    .addOption(new Option('-n, --limit <n>', 'how many records').argParser(parseLimit).default(20))
    .option('-f, --follow', 'keep printing new records (polls every second) until Ctrl-C (exit 130)', false)
    .addHelpText('after', `${endpointHelp('audit.tail')}\n-o json prints {records}; with --follow one record per line (NDJSON). The polls of --follow itself are not shown.`)
    .action(async (o: { limit: number; follow?: boolean }) => run(f, { limit: o.limit, follow: Boolean(o.follow) }));
}

const tailEndpoint = STANDARD_ENDPOINTS.find((e) => e.id === 'audit.tail')!;

export async function run(f: Factory, opts: AuditTailOptions): Promise<void> {
  const client = await f.client();
  const out = await f.output();
  if (opts.follow) out.beginStream();
  // Our own follow polls are audited too; remember their request ids so the
  // follower does not print an endless echo of itself.
  const ownRequests = new Set<string>();
  const fetch = async (limit: number, signal?: AbortSignal): Promise<AuditRecord[]> => {
    const shape = buildRequest(tailEndpoint, { limit });
    const res = await client.send({ method: shape.method, path: shape.path, query: shape.query }, signal ? { signal } : {});
    if (res.status >= 400) throw problemFromResponse(res, res.body);
    const rid = res.headers[REQUEST_ID_HEADER];
    if (typeof rid === 'string') {
      ownRequests.add(rid);
      if (ownRequests.size > 200) ownRequests.delete(ownRequests.values().next().value as string);
    }
    const records = (JSON.parse(res.body.toString('utf8')) as { records?: AuditRecord[] }).records ?? [];
    return [...records].sort((a, b) => a.seq - b.seq);
  };

  const first = await fetch(opts.limit);
  const columns = auditColumns(out.colors);
  if (!opts.follow) {
    out.emit({ records: first }, () => out.table(first, columns, { empty: 'the audit log is empty' }));
    return;
  }

  const print = (records: AuditRecord[], header: boolean) => {
    if (out.json) for (const r of records) out.printJsonLine(r);
    // Piped follow output stays one record per line under a single header.
    else if (records.length) out.table(records, columns, { header: header || out.tty });
  };
  print(first, true);
  let lastSeq = first.length ? first[first.length - 1]!.seq : 0;
  const interrupt = watchInterrupt(opts.interrupt);
  try {
    while (await sleep(opts.pollMs ?? 1000, interrupt.signal)) {
      let records: AuditRecord[];
      try {
        records = await fetch(1000, interrupt.signal);
      } catch (e) {
        if (interrupt.signal.aborted) break;
        throw e;
      }
      const fresh = records.filter((r) => r.seq > lastSeq);
      if (fresh.length) lastSeq = fresh[fresh.length - 1]!.seq;
      // The log's own records (checkpoints, notify…) have no request id.
      print(fresh.filter((r) => typeof r.requestId !== 'string' || !ownRequests.has(r.requestId)), false);
    }
  } finally {
    interrupt.dispose();
  }
  // Ctrl-C is how a watch ends, and it still exits 130 like every other
  // interrupted command: a script can tell it from a natural end.
  if (interrupt.signal.aborted) throw new InterruptedError();
}
