/**
 * audit tail's STATUS cell for records that have no HTTP status of their own
 * (docs/protocol.md, audit format): each says what it marks instead of
 * staying blank.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusText } from '../../src/cli/commands/audit/audit-types.js';

test('STATUS without an HTTP status: started, how a job ended, approvals so far, a grant ended', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ outcome: 'ok', status: 200 }, '200'],
    [{ outcome: 'accepted', status: null, jobId: 'j1' }, 'job started'],
    [{ outcome: 'accepted', status: null }, 'started'],
    [{ outcome: 'ok', status: null, jobId: 'j1' }, 'job succeeded'],
    [{ outcome: 'error', status: null, jobId: 'j1', code: 'cancelled' }, 'job cancelled'],
    [{ outcome: 'error', status: null, jobId: 'j1', code: 'boom' }, 'job failed'],
    // A held request's run after its approval keeps the approval on its records: the job still wins.
    [{ outcome: 'ok', status: null, jobId: 'j1', approval: { approvers: ['bob'], required: 1 } }, 'job succeeded'],
    [{ outcome: 'approved', status: null, approval: { approvers: ['bob'], required: 2 } }, '1/2 approvals'],
    [{ outcome: 'rejected', status: null, approval: { approvers: [], required: 1 } }, '0/1 approvals'],
    [{ outcome: 'expired', status: null, grantId: 'g1' }, 'grant ended'],
    [{ type: 'checkpoint', status: undefined }, ''],
  ];
  for (const [record, want] of cases) assert.equal(statusText(record.status, record), want, JSON.stringify(record));
});

test('a break-glass run is visible: BREAK-GLASS in STATUS, its reason in REASON, on a terminal and piped', async () => {
  const { PassThrough } = await import('node:stream');
  const { createOutput } = await import('../../src/cli/output/output.js');
  const { auditColumns } = await import('../../src/cli/commands/audit/audit-types.js');
  const records = [
    { seq: 55, time: '2026-12-06T20:54:48.702Z', principal: 'alice', role: 'admin', endpoint: 'tasks.run', outcome: 'accepted', status: null, jobId: 'h2Wb2Q14YZLjhnEA', breakGlass: 'incident 12: disk full' },
    { seq: 56, time: '2026-12-06T20:54:48.707Z', principal: 'alice', role: 'admin', endpoint: 'tasks.run', outcome: 'ok', status: null, jobId: 'h2Wb2Q14YZLjhnEA', breakGlass: 'incident 12: disk full', reason: 'INC-12' },
    { seq: 57, time: '2026-12-06T20:54:49.000Z', principal: 'alice', role: 'admin', endpoint: 'flags.set', outcome: 'ok', status: 200, reason: 'release 42' },
  ];
  const stdout = new PassThrough();
  const out = await createOutput({ stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} }, 'table', false);
  out.table(records, auditColumns(out.colors));
  const lines = String(stdout.read()).trimEnd().split('\n').map((l) => l.split('\t'));
  const col = (name: string) => lines[0]!.indexOf(name);
  assert.equal(lines[1]![col('STATUS')], 'BREAK-GLASS job started');
  assert.equal(lines[1]![col('REASON')], 'BREAK-GLASS: incident 12: disk full');
  assert.equal(lines[2]![col('STATUS')], 'BREAK-GLASS job succeeded');
  assert.equal(lines[2]![col('REASON')], 'BREAK-GLASS: incident 12: disk full — INC-12');
  assert.equal(lines[3]![col('STATUS')], '200');
  assert.equal(lines[3]![col('REASON')], 'release 42');

  // 80 columns: STATUS is left out and REASON cut first, but the marker leads REASON.
  const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  const t = await createOutput({ stdin: new PassThrough(), stdout: tty, stderr: new PassThrough(), env: {} }, 'table', false);
  t.table(records, auditColumns(t.colors));
  const screen = String(tty.read());
  assert.match(screen, /│ 55 +│[^\n]*│ BREAK-GLASS/, screen);
});
