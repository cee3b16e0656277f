import type { ServerResponse } from 'node:http';
import { ProblemError, type ApprovalList, type ApprovalState, type ApprovalView } from '../../protocol/index.js';
import type { ApprovalWatch } from '../approvals/approval-watch.js';
import { approverRole, wouldChange } from '../approvals/approval-gate.js';
import { actorOf, type ApprovalService } from '../approvals/approval-service.js';
import { resolveHeld, type HeldRunDeps } from '../approvals/run-held.js';
import { peerOf } from '../pipeline/request-context.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

/**
 * approvals.list/get/approve/reject (src/server/README.md, "Approvals and
 * dry-run"). Anyone known may look; who may approve is the held request's
 * policy (approver role), checked by the service, never the requester.
 */
export function registerApprovals(ctx: PluginContext, service: ApprovalService, run: HeldRunDeps, watch: ApprovalWatch): void {
  ctx.register(standardRoute('approvals.list', {
    handler: async ({ params, res }) => {
      await service.sweep();
      // Long-poll: a client that saw this cursor waits here for the next
      // change instead of asking again every second (each ask is a record).
      if (typeof params.wait === 'number' && params.since === watch.cursor) {
        await watch.next(waitMs(params.wait, nextExpiry(service.list('pending'))), undefined, gone(res));
        await service.sweep();
      }
      const body: ApprovalList = { approvals: service.list(params.state as ApprovalState | undefined), cursor: watch.cursor };
      return { body };
    },
  }));
  ctx.register(standardRoute('approvals.get', {
    handler: async ({ params, requestId, res }) => {
      await service.sweep();
      let view: ApprovalView = service.view(String(params.id));
      if (typeof params.wait === 'number') {
        // Long-poll (the CLI's wait for a decision): answered when this
        // approval changes, at its expiry, or after `wait` seconds; the
        // waiter needs the state, not a fresh dry-run of the request.
        if (view.state === 'pending' || view.state === 'approved') {
          await watch.next(waitMs(params.wait, nextExpiry([view])), view.id, gone(res));
          await service.sweep();
          view = service.view(view.id);
        }
        return { body: view };
      }
      if (view.state !== 'pending') return { body: view };
      // What the held request would do if it ran now, as its requester: the
      // approver reviews the present, not only what was true when it was asked.
      const rec = service.find(view.id);
      let dryRun: unknown;
      try {
        const r = await resolveHeld(run, rec);
        dryRun = await wouldChange(r.route, r.params, r.principal, requestId, rec.reason ?? undefined, true, rec.params);
        const role = r.policy.approval ?? r.route.def.approval;
        if (role && approverRole(r.route, r.policy, role) !== rec.approverRole) dryRun = { ...(dryRun as object), note: 'the approver role of this endpoint changed since the request was held' };
      } catch (e) {
        if (!(e instanceof ProblemError)) throw e;
        dryRun = { error: { code: e.code, status: e.status, detail: e.detail ?? e.message } };
      }
      return { body: { ...view, dryRun } };
    },
  }));
  ctx.register(standardRoute('approvals.approve', {
    dryRun: ({ params, principal }) => {
      const rec = service.checkApprove(String(params.id), principal, String(params.digest));
      const dup = !service.wouldCount(rec, actorOf(principal));
      const count = rec.approvers.length + (dup ? 0 : 1);
      return { approval: rec.id, wouldCount: !dup, approvals: count, required: rec.required, wouldRun: count >= rec.required ? rec.endpoint : null };
    },
    handler: async ({ params, principal, requestId, req }) => {
      const r = await service.approve(String(params.id), { principal, requestId, peer: peerOf(req) }, String(params.digest), params.reason as string | undefined);
      return { body: { approval: r.approval, counted: r.counted, ...(r.result ? { result: r.result } : {}) } };
    },
  }));
  ctx.register(standardRoute('approvals.reject', {
    dryRun: ({ params }) => ({ approval: service.view(String(params.id)).id, wouldReject: true }),
    handler: async ({ params, principal, requestId, req }) => {
      const approval = await service.reject(String(params.id), { principal, requestId, peer: peerOf(req) }, params.reason as string | undefined);
      return { body: { approval } };
    },
  }));
}

/** The wait asked for, cut short at the next expiry (which a timer would report only later). */
function waitMs(seconds: number, expiresAt: number | undefined): number {
  const asked = seconds * 1000;
  return expiresAt === undefined ? asked : Math.max(0, Math.min(asked, expiresAt - Date.now() + 20));
}

function nextExpiry(views: ApprovalView[]): number | undefined {
  const times = views.filter((v) => v.state === 'pending').map((v) => Date.parse(v.expiresAt));
  return times.length ? Math.min(...times) : undefined;
}

/** Aborts when the client's connection closes before the answer: nobody is waiting any more. */
function gone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  return ac.signal;
}
