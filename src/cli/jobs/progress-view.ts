/**
 * How a followed job looks to a human. On a terminal: one redrawn status line
 * on stderr (spinner, bar, counts, elapsed) with log lines scrolling above it.
 * Piped: plain, throttled progress lines on stderr, so a runbook's log stays
 * readable. The job's own log lines are its output and go to stdout.
 */
import type { IOStreams } from '../io.js';
import type { Colors } from '../output/output.js';
import type { JobEvent, JobProgress, JobState } from './job-types.js';
import { fractionOf } from './job-types.js';
import { sanitize } from '../output/sanitize.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

export interface ProgressView {
  event(ev: JobEvent): void;
  /** A line of the CLI's own about the stream (e.g. re-attached), on stderr. */
  note(text: string): void;
  /** Removes the status line (before the final message, or on detach). */
  stop(): void;
}

function bar(fraction: number, width: number): string {
  const full = Math.round(fraction * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function counts(p: JobProgress): string {
  return typeof p.current === 'number' && typeof p.total === 'number' ? `${p.current}/${p.total}` : typeof p.current === 'number' ? String(p.current) : '';
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function createProgressView(io: IOStreams, colors: Colors, rawJobId: string, label: string): ProgressView {
  const jobId = sanitize(rawJobId);
  const tty = Boolean(io.stderr.isTTY);
  const started = Date.now();
  let state: JobState | string = 'running';
  let progress: JobProgress = { current: null, total: null, fraction: null, message: null };
  let frame = 0;
  let drawn = false;
  let lastPlain = { bucket: -1, message: '', at: 0 };

  const levelColor = (level: string | undefined) => (level === 'error' ? colors.red : level === 'warn' ? colors.yellow : colors.dim);

  const draw = () => {
    if (!tty) return;
    const f = fractionOf(progress);
    const cols = io.stderr.columns ?? 80;
    const parts = [colors.cyan(FRAMES[frame % FRAMES.length]!), `${label} ${jobId}`, state];
    if (f !== undefined) parts.push(`${bar(f, 20)} ${String(Math.round(f * 100)).padStart(3)}%`);
    const c = counts(progress);
    if (c) parts.push(c);
    if (progress.message) parts.push(progress.message);
    parts.push(colors.dim(elapsed(Date.now() - started)));
    let line = parts.join('  ');
    // Never wrap: a wrapped status line cannot be redrawn in place.
    // eslint-disable-next-line no-control-regex -- it matches terminal control characters on purpose
    const visible = line.replace(/\x1b\[[0-9;]*m/g, '');
    if (visible.length > cols - 1) line = visible.slice(0, Math.max(10, cols - 2)) + '…';
    io.stderr.write(CLEAR_LINE + line);
    drawn = true;
  };
  const clear = () => {
    if (tty && drawn) io.stderr.write(CLEAR_LINE);
    drawn = false;
  };
  const timer = tty
    ? setInterval(() => {
        frame++;
        draw();
      }, 120)
    : undefined;
  timer?.unref();

  /** A line above the status line (TTY) or a plain line (piped); job logs are output, so stdout. */
  const say = (text: string, to: 'stdout' | 'stderr' = 'stderr') => {
    clear();
    io[to].write(text + '\n');
    draw();
  };

  return {
    event(raw) {
      // Job events are the service's words: shown, never executed.
      const ev = { ...raw, ...(typeof raw.message === 'string' ? { message: sanitize(raw.message) } : {}), ...(typeof raw.state === 'string' ? { state: sanitize(raw.state) as JobState } : {}), ...(typeof raw.level === 'string' ? { level: sanitize(raw.level) } : {}) };
      switch (ev.type) {
        case 'state':
          if (ev.state) state = ev.state;
          if (!tty && ev.state) say(`job ${jobId}: ${ev.state}`);
          else draw();
          break;
        case 'progress': {
          progress = { current: ev.current ?? null, total: ev.total ?? null, fraction: ev.fraction ?? null, message: ev.message ?? progress.message ?? null };
          if (tty) {
            draw();
            break;
          }
          // Piped: a line per 10% step, per new message, or every 5 s at most.
          const f = fractionOf(progress);
          const bucket = f === undefined ? -1 : Math.floor(f * 10);
          const msg = progress.message ?? '';
          const now = Date.now();
          if (bucket !== lastPlain.bucket || msg !== lastPlain.message || now - lastPlain.at > 5000) {
            lastPlain = { bucket, message: msg, at: now };
            const pct = f === undefined ? '' : `${Math.round(f * 100)}%`;
            say(['progress', pct, counts(progress), msg].filter(Boolean).join(' '));
          }
          break;
        }
        case 'log':
          say(levelColor(ev.level)(`${ev.level && ev.level !== 'info' ? `[${ev.level}] ` : ''}${ev.message ?? ''}`), 'stdout');
          break;
        default:
          draw();
      }
    },
    note(text) {
      say(colors.dim(`opsctl: ${sanitize(text)}`));
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
