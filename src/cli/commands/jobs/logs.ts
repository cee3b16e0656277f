import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { followJob, reportOutcome, throwIfUnsuccessful } from '../../jobs/follow.js';

export interface JobsLogsOptions {
  id: string;
  follow: boolean;
  interrupt?: AbortSignal;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('logs')
    .description(summaryOf('jobs.events'))
    .addArgument(completeWith(new Argument('<id>', 'job id'), 'jobs'))
    .option('-f, --follow', 'keep streaming until the job ends (Ctrl-C detaches; the job keeps running)', false)
    .addHelpText('after', `${endpointHelp('jobs.events')}\nWithout --follow: the events so far. -o json prints NDJSON, one event per line.\nExit status: 0 when the job succeeded (or, without --follow, is still running), 1 when it failed or was cancelled.`)
    .action(async (id: string, o: { follow?: boolean }) => run(f, { id, follow: Boolean(o.follow) }));
}

// The events endpoint replays history and then waits for live events; without
// --follow we stop once the replay has gone quiet for this long.
const REPLAY_IDLE_MS = 400;

export async function run(f: Factory, opts: JobsLogsOptions): Promise<void> {
  checkArgument(standardEndpoint('jobs.events'), 'id', opts.id);
  // -o json is NDJSON here, with or without --follow: nothing after it is pretty-printed.
  (await f.output()).beginStream();
  const outcome = await followJob(f, opts.id, {
    label: 'job',
    jsonEvents: 'ndjson',
    ...(opts.follow ? {} : { idleStopMs: REPLAY_IDLE_MS }),
    ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
  });
  const out = await f.output();
  if (!outcome) {
    out.note(`job ${opts.id} is still running; follow it with: opsctl jobs logs ${opts.id} --follow`);
    return;
  }
  await reportOutcome(f, outcome);
  throwIfUnsuccessful(outcome);
}
