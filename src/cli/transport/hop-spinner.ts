import type { Writable } from 'node:stream';
import type { Hop } from './types.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Feedback while connecting, on a terminal only: once connecting has taken
 * longer than `delayMs` (a fast route shows nothing), one line on stderr
 * names the hop being connected and follows the route hop by hop. It steps
 * aside while a host-key question is asked and leaves no trace when done.
 */
export class HopSpinner {
  private readonly out: Writable;
  private readonly delayMs: number;
  private label: string | undefined;
  private started: number | undefined;
  private frame = 0;
  private delay: NodeJS.Timeout | undefined;
  private tick: NodeJS.Timeout | undefined;
  private shown = false;
  private paused = false;

  constructor(out: Writable, delayMs = 300) {
    this.out = out;
    this.delayMs = delayMs;
  }

  /** Connecting to this hop now. */
  hop(hop: Hop, kind: 'bastion' | 'host'): void {
    this.label = `connecting to ${kind === 'bastion' ? 'bastion' : 'service host'} ${hop.name} (${hop.host}:${hop.port})…`;
    this.started ??= Date.now();
    if (this.shown) this.draw();
    else if (!this.delay && !this.paused) this.delay = setTimeout(() => this.show(), Math.max(0, this.delayMs - (Date.now() - this.started)));
  }

  private show(): void {
    this.delay = undefined;
    if (this.paused || !this.label) return;
    this.shown = true;
    this.draw();
    this.tick = setInterval(() => this.draw(), 80);
    this.tick.unref();
  }

  private draw(): void {
    if (!this.shown || this.paused) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    this.out.write(`\r\x1b[2K${FRAMES[this.frame]} ${this.label}`);
  }

  private clear(): void {
    clearTimeout(this.delay);
    this.delay = undefined;
    clearInterval(this.tick);
    this.tick = undefined;
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }

  /** A question is about to be asked on the terminal. */
  pause(): void {
    this.paused = true;
    this.clear();
  }

  resume(): void {
    this.paused = false;
    // The operator has seen the route by now: show the next hop at once.
    if (this.label) this.show();
  }

  stop(): void {
    this.label = undefined;
    this.clear();
  }
}
