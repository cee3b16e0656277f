/**
 * The time allowed for connecting, shared by every hop of one attempt. It
 * stops while the operator reads a host-key question, so a human answer
 * never counts as a network timeout.
 */
export class ConnectBudget {
  readonly totalMs: number;
  private endsAt: number;
  private pausedAt: number | undefined;

  constructor(totalMs: number) {
    this.totalMs = totalMs;
    this.endsAt = Date.now() + totalMs;
  }

  remaining(): number {
    return Math.max(0, this.endsAt - (this.pausedAt ?? Date.now()));
  }

  pause(): void {
    this.pausedAt ??= Date.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.endsAt += Date.now() - this.pausedAt;
    this.pausedAt = undefined;
  }
}
