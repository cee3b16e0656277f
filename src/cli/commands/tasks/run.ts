import { Argument, Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { UsageError } from '../../errors/usage-error.js';
import { ensureConfirmable, confirmDestructive, ensureReason } from '../../confirm.js';
import { collectParam, missingRequired, parseParams } from '../../params/parse-params.js';
import { redactSecrets, resolveSecrets } from '../../params/secret-params.js';
import type { JobStarted } from '../../jobs/job-types.js';
import { handleStartedJob } from '../../jobs/started.js';
import type { TaskView } from './task-types.js';
import { quoted } from '../../../protocol/wording.js';

export interface TasksRunOptions {
  task: string;
  /** Raw `k=v` pairs from --param. */
  params: string[];
  follow: boolean;
  interrupt?: AbortSignal;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('run')
    .description(summaryOf('tasks.run'))
    .addArgument(completeWith(new Argument('<task>', 'task name (see opsctl tasks list)'), 'tasks'))
    .addOption(new Option('--param <k=v>', 'a task param, typed by the task\'s schema (repeatable)').argParser(collectParam))
    .option('-f, --follow', 'stream progress and logs until the task ends', false)
    .addHelpText('after', `${endpointHelp('tasks.run')}\nDestructive tasks show what will run and ask first (--yes to skip). Without --follow the job id is printed.\nSecret params are never taken from the command line: --param NAME=@FILE, --param NAME=- (stdin), or left out to be asked without echo.`)
    .action(async (task: string, o: { param?: string[]; follow?: boolean }) => run(f, { task, params: o.param ?? [], follow: Boolean(o.follow) }));
}

export async function run(f: Factory, opts: TasksRunOptions): Promise<void> {
  // Under -o json a followed run is NDJSON from its first line to its last (README, "Runbooks").
  if (opts.follow) (await f.output()).beginStream();
  await ensureReason(f, `running task ${opts.task}`);
  const client = await f.client();
  const { tasks } = await client.call<{ tasks: TaskView[] }>('tasks.list');
  await remember(f, 'tasks', tasks.map((t) => t.name));
  const task = tasks.find((t) => t.name === opts.task);
  if (!task) throw new UsageError(`no task named ${quoted(opts.task)}${tasks.length ? `; tasks: ${tasks.map((t) => t.name).join(', ')}` : '; this service registered none'}`);
  const schema = task.params ?? {};
  const subject = `task ${quoted(task.name)}`;
  const params = await resolveSecrets(parseParams(opts.params, schema, { subject }), schema, { io: f.io, prompter: f.prompter(), subject });
  const missing = missingRequired(params, task.params ?? {});
  if (missing.length) throw new UsageError(`${subject} needs ${missing.map((m) => `--param ${m}=…`).join(' ')}`);
  if (task.destructive) {
    // Fail before the run request when it could never be confirmed.
    await ensureConfirmable(f, `run task ${task.name}`);
    const out = await f.output();
    out.warn(`${subject} is destructive: ${task.summary}`);
    out.note(`  params: ${Object.keys(params).length ? JSON.stringify(redactSecrets(params, schema)) : '(none)'}`);
    const ctx = await f.context();
    await confirmDestructive(f, `run task ${task.name}${ctx.name ? ` on ${ctx.name}` : ''}`);
  }
  const started = await client.call<JobStarted>('tasks.run', { name: task.name, params });
  await handleStartedJob(f, started, { follow: opts.follow, label: `task ${task.name}`, extra: { task: task.name, params }, ...(opts.interrupt ? { interrupt: opts.interrupt } : {}) });
}
