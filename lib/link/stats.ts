// Link measurements the rate controller and the dashboard read: round trip (publish →
// answer) and latency (accept → answer) quantiles, and acknowledged throughput over a
// sliding window.

/** The last `size` samples, and of those only the ones of the last `maxAgeMs` when set. */
export class RollingWindow {
  private readonly samples: { v: number; t: number }[] = [];
  /** Sorted values, kept until the samples change: the rate controller asks per frame. */
  private sorted: number[] | null = null;
  constructor(private readonly size = 256, private readonly maxAgeMs = Infinity) {}

  push(v: number, now = Date.now()): void {
    this.samples.push({ v, t: now });
    if (this.samples.length > this.size) this.samples.shift();
    this.sorted = null;
  }

  quantile(q: number, now = Date.now()): number | null {
    while (this.samples.length && this.samples[0].t < now - this.maxAgeMs) {
      this.samples.shift();
      this.sorted = null;
    }
    if (!this.samples.length) return null;
    const sorted = (this.sorted ??= this.samples.map((s) => s.v).sort((a, b) => a - b));
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
