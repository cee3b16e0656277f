import { UsageError } from '../../errors/usage-error.js';

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A duration as operators write it: `90s`, `15m`, `2h`, `1h30m`, `1d`, or a
 * bare number of seconds. Anything else is a usage error naming the forms.
 */
export function parseDuration(text: string, flag = '--for'): number {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n > 0) return n;
  } else if (/^(\d+[smhd])+$/.test(t)) {
    let total = 0;
    for (const m of t.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * UNIT[m[2]!]!;
    if (total > 0 && Number.isSafeInteger(total)) return total;
  }
  throw new UsageError(`${flag} "${text}" is not a duration: use e.g. 90s, 15m, 2h or 1h30m (more than zero)`);
}

/** 7200 → "2h", 5400 → "1h30m", 90 → "1m30s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', sec && !d && !h ? `${sec}s` : ''].filter(Boolean);
  return parts.join('') || '0s';
}

/** When an ISO time is, said relative to now: "in 1h59m", "3m ago". */
export function relativeTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const diff = Math.round((t - now) / 1000);
  if (Math.abs(diff) < 1) return 'now';
  return diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}
