import type { Stage } from '../pipeline/handle-request.js';
import { approvalGate } from './approval-gate.js';
import type { ApprovalService } from './approval-service.js';

/**
 * The pipeline's review stage for approvals and dry-run (between authorize
 * and admit, src/server/README.md "Approvals and dry-run"): a dry-run or a
 * held request is answered here and nothing is admitted; a break-glass run
 * continues to admit and run, marked, and its outcome is noted on its review
 * entry once answered.
 */
export function approvalsStage(service: ApprovalService): Stage {
  return async (_deps, s) => {
    const need = <T>(v: T | undefined, what: string): T => {
      if (v === undefined) throw new Error(`the approvals stage ran before ${what} was known`);
      return v;
    };
    const idem = s.req.headers['idempotency-key'];
    const gate = await approvalGate(service, {
      req: s.req,
      method: s.method,
      path: s.path,
      query: s.query,
      body: s.body,
      signatureBase: need(s.signature, 'the signature').base,
      principal: need(s.principal, 'the principal'),
      route: need(s.route, 'the route'),
      params: need(s.params, 'the params'),
      policy: need(s.policy, 'the policy'),
      reason: s.reason,
      idempotencyKey: typeof idem === 'string' ? idem : undefined,
      idempotency: _deps.idempotency,
      requestId: s.requestId,
      event: s.event,
    });
    if (gate.kind === 'respond') {
      s.res.writeHead(gate.status, { ...gate.headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      s.res.end(JSON.stringify(gate.body) + '\n');
      await s.finish(gate.outcome, gate.status, undefined, gate.audit ?? {});
      return 'done';
    }
    const after = gate.after;
    if (!after) return;
    let code: string | undefined;
    const finish = s.finish;
    s.finish = (outcome, status, c, extra) => {
      code = c;
      return finish(outcome, status, c, extra);
    };
    s.res.once('finish', () => {
      const status = s.res.statusCode;
      if (s.jobStarted && s.slot) after({ status: 202, body: { jobId: s.slot.id }, jobId: s.slot.id });
      else if (status < 400) after({ status, body: null });
      else after({ error: { code: code ?? 'error', status, detail: `answered ${status}` } });
    });
  };
}
