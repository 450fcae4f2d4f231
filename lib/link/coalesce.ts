// The coalescing budget: a frame may wait up to `budgetMs` from its accept for others to
// share its message. At a few frames per second most link bytes are per-message (TCP/IP
// headers, the TCP ACKs each way), so waiting is what makes a metered link cheap.
export class Coalescer {
  private timer: NodeJS.Timeout | null = null;
  readonly budgetMs: number;

  constructor(budgetMs: number, private readonly wake: () => void) {
    this.budgetMs = Math.max(0, budgetMs);
  }

  /** Whether a frame accepted at `acceptedAt` may leave now; if not, `wake` runs when it may. */
  due(acceptedAt: number, now = Date.now()): boolean {
    const wait = acceptedAt + this.budgetMs - now;
    if (wait <= 0) return true;
    if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = null; this.wake(); }, wait);
      this.timer.unref();
    }
    return false;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
