import type { NotifyEvent } from '../../protocol/index.js';

/**
 * The message a Slack incoming webhook gets for an event
 * (docs/notifications.md, "Slack"): one line that says what happened, who
 * and why, the approval count, and the command to run, as `text` (what
 * notifications and clients without blocks show) and as one section block.
 * An incoming webhook can neither edit a message nor reply in its thread
 * (it answers "ok", not the message's ts), so a decision is a new message
 * that quotes the request it decides. Nothing in it approves: approving is
 * a signed `opsctl` command, and there are no buttons.
 */
export function slackMessage(e: NotifyEvent): { text: string; blocks: unknown[] } {
  const d = e.data;
  const who = (v: unknown) => (typeof v === 'string' && v ? esc(v) : 'someone');
  const why = d.reason ? ` — “${esc(String(d.reason))}”` : '';
  const ep = d.endpoint ? `\`${esc(d.endpoint)}\`` : '';
  const count = typeof d.approvals === 'number' && typeof d.required === 'number' ? ` (${d.approvals} of ${d.required} approval${d.required === 1 ? '' : 's'})` : '';
  const on = `${esc(d.service)}${d.host ? ` on ${esc(d.host)}` : ''}`;
  let line: string;
  switch (e.type) {
    case 'approval.requested':
      line = `:raised_hand: *${who(d.requester)}* asks to run ${ep} on ${on}${why}. Needs ${d.required} approval${d.required === 1 ? '' : 's'} by another ${esc(String(d.approverRole))}; expires ${esc(String(d.expiresAt))}.`;
      break;
    case 'access.requested':
      line = `:key: *${who(d.requester)}* asks for role *${esc(String(d.role))}* for ${esc(duration(d.ttlSeconds))} on ${on}${why}. Needs ${d.required} approval${d.required === 1 ? '' : 's'}.`;
      break;
    case 'approval.approved':
      line = `:white_check_mark: *${who(d.approver)}* approved ${ep} asked by ${who(d.requester)}${count}${d.approverGrantId ? `, under grant ${esc(String(d.approverGrantId))} given by ${who(d.approverGrantedBy)}` : ''}.`;
      break;
    case 'approval.decided': {
      const what = `${ep} asked by ${who(d.requester)} (approval ${esc(String(d.approvalId))}${why})`;
      const outcome = String(d.outcome);
      line = outcome === 'ran' ? `:large_green_circle: Decided: ${what} *ran*${count}${d.jobId ? `, job \`${esc(String(d.jobId))}\`` : ''}.`
        : outcome === 'failed' ? `:red_circle: Decided: ${what} was approved but *did not run*: ${esc(String((d.error as { detail?: string } | undefined)?.detail ?? 'refused'))}.`
          : outcome === 'rejected' ? `:no_entry: Decided: ${what} was *rejected* by ${who(d.decidedBy)}.`
            : outcome === 'expired' ? `:hourglass: Decided: ${what} *expired*${count}; nothing ran.`
              : `:leftwards_arrow_with_hook: Decided: ${what} was *withdrawn*${d.supersededBy ? ' (run by break-glass instead)' : ''} by ${who(d.decidedBy)}.`;
      break;
    }
    case 'break_glass.used':
      line = `:rotating_light: *${who(d.principal)}* ran ${ep} on ${on} by *break-glass*: “${esc(String(d.breakGlassReason ?? ''))}”. Review it.`;
      break;
    case 'grant.created':
      line = `:unlock: *${who(d.grantedBy)}* gave *${who(d.grantee)}* role *${esc(String(d.role))}* on ${on} until ${esc(String(d.expiresAt))}${why}.`;
      break;
    case 'grant.expiring':
      line = `:alarm_clock: The grant of *${who(d.grantee)}* (role ${esc(String(d.role))}) on ${on} ends in ${esc(duration(d.secondsLeft))}, at ${esc(String(d.expiresAt))}.`;
      break;
    case 'grant.ended':
      line = d.outcome === 'revoked'
        ? `:lock: *${who(d.revokedBy)}* revoked the grant of *${who(d.grantee)}* (role ${esc(String(d.role))}) on ${on}.`
        : `:lock: The grant of *${who(d.grantee)}* (role ${esc(String(d.role))}) on ${on} expired.`;
      break;
    case 'job.finished':
      line = `${d.state === 'succeeded' ? ':large_green_circle:' : ':red_circle:'} ${ep}${d.task ? ` (${esc(String(d.task))})` : ''} started by *${who(d.principal)}* on ${on} *${esc(String(d.state))}* after ${esc(duration(Math.round(Number(d.durationMs) / 1000)))}${d.breakGlass ? ' (break-glass)' : ''}.`;
      break;
    default:
      line = `:bell: Test notification from ${on}, sent by ${who(d.principal)}.`;
  }
  const text = `${line}\n\`${esc(d.command)}\``;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** Slack's three escapes; everything else is shown as written. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function duration(v: unknown): string {
  const s = Number(v);
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', sec || (!h && !m) ? `${sec}s` : ''].join('');
}
