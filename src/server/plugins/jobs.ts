import { ProblemError } from '../../protocol/index.js';
import type { Job, JobEvent } from '../jobs/job.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';
import { quoted } from '../../protocol/wording.js';

// A client that reads slower than this much buffered output is cut off;
// it can re-attach and replay from the start.
const MAX_BUFFERED = 1024 * 1024;

/**
 * While a job is quiet the event stream carries an empty line this often,
 * so a client can tell a live stream from a dead one by silence alone
 * (opsctl gives up after --timeout seconds of nothing). NDJSON readers skip
 * empty lines.
 */
export const EVENTS_HEARTBEAT_MS = 5000;

function findJob(ctx: PluginContext, id: unknown): Job {
  const job = ctx.jobs.get(String(id));
  // Jobs live in the process that runs them: after a restart every earlier
  // id is unknown, and the answer says so (README, "Long work").
  if (!job) throw new ProblemError('not_found', `no job ${quoted(String(id))} (finished jobs are kept for a while, then forgotten; jobs do not survive a restart of the service, and it last started at ${new Date(ctx.startedAt).toISOString()})`);
  return job;
}

/** jobs.list, jobs.get, jobs.events (NDJSON: replay then live, ends with an `end` line), jobs.cancel. */
export function registerJobs(ctx: PluginContext): void {
  ctx.register(standardRoute('jobs.list', {
    handler: () => ({ body: { jobs: ctx.jobs.list().map((j) => j.view()) } }),
  }));
  ctx.register(standardRoute('jobs.get', {
    handler: ({ params }) => ({ body: findJob(ctx, params.id).view() }),
  }));
  ctx.register(standardRoute('jobs.cancel', {
    dryRun: ({ params }) => {
      const job = findJob(ctx, params.id);
      return { job: job.id, state: job.state, wouldCancel: job.state === 'queued' || job.state === 'running' };
    },
    handler: ({ params }) => {
      const job = findJob(ctx, params.id);
      ctx.jobs.cancel(job.id);
      return { body: job.view() };
    },
  }));
  ctx.register(standardRoute('jobs.events', {
    handler: ({ params, res }) => {
      const job = findJob(ctx, params.id);
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.flushHeaders();
      return new Promise((resolve) => {
        let unsubscribe: (() => void) | undefined;
        let lastWrite = Date.now();
        const heartbeat = setInterval(() => {
          if (!res.destroyed && Date.now() - lastWrite >= EVENTS_HEARTBEAT_MS - 50) {
            res.write('\n');
            lastWrite = Date.now();
          }
        }, EVENTS_HEARTBEAT_MS);
        heartbeat.unref();
        const done = () => {
          clearInterval(heartbeat);
          unsubscribe?.();
          resolve({ streamed: true });
        };
        const write = (ev: JobEvent): boolean => {
          if (res.destroyed) return false;
          lastWrite = Date.now();
          res.write(JSON.stringify(ev) + '\n');
          if (ev.type === 'end') {
            res.end();
            return false;
          }
          if (res.writableLength > MAX_BUFFERED) {
            res.destroy();
            return false;
          }
          return true;
        };
        for (const ev of [...job.events]) {
          if (!write(ev)) return done();
        }
        unsubscribe = job.subscribe((ev) => {
          if (!write(ev)) done();
        });
        // A client going away stops the stream, never the job.
        res.on('close', done);
      });
    },
  }));
}
