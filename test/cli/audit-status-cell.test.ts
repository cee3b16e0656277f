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
