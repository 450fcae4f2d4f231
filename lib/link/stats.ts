// Link measurements the rate controller and the dashboard read: round trip (publish →
// answer) and latency (accept → answer) quantiles, and acknowledged throughput over a
// sliding window.

export class RollingWindow {
  private readonly values: number[] = [];
  private at = 0;
  /** Sorted copy, kept until the next push: the rate controller asks for quantiles per frame. */
  private sorted: number[] | null = null;
  constructor(private readonly size = 256) {}

  push(v: number): void {
    if (this.values.length < this.size) this.values.push(v);
    else this.values[this.at] = v;
    this.at = (this.at + 1) % this.size;
    this.sorted = null;
  }

  quantile(q: number): number | null {
    if (!this.values.length) return null;
    const sorted = (this.sorted ??= [...this.values].sort((a, b) => a - b));
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}

/** Bytes acknowledged per second over the last `spanMs`. */
export class Throughput {
  private readonly events: { t: number; bytes: number }[] = [];
  constructor(private readonly spanMs = 5000) {}

  add(bytes: number, now = Date.now()): void {
    this.events.push({ t: now, bytes });
    this.trim(now);
  }

  perSecond(now = Date.now()): number {
    this.trim(now);
    const total = this.events.reduce((n, e) => n + e.bytes, 0);
    return (total * 1000) / this.spanMs;
  }

  private trim(now: number): void {
    while (this.events.length && this.events[0].t < now - this.spanMs) this.events.shift();
  }
}
