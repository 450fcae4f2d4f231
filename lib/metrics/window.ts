// A sliding window of one-second buckets: counts and value samples per key, so the
// dashboard can show "the last N seconds" (frames per second, exit ratio, p95 latency)
// while Prometheus keeps the cumulative counters and histograms.

interface Bucket { sec: number; counts: Map<string, number>; samples: Map<string, number[]>; seen: Map<string, number> }

export class SlidingWindow {
  private readonly buckets: Bucket[] = [];

  /**
   * @param keepSec longest window anyone may ask for
   * @param maxSamples samples kept per key and second (a uniform reservoir beyond that),
   *   so a 2,000 frame/s gateway costs no more memory than a 500 frame/s one
   */
  constructor(private readonly keepSec = 60, private readonly maxSamples = 500) {}

  private bucket(now: number): Bucket {
    const sec = Math.floor(now / 1000);
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last.sec !== sec) {
      last = { sec, counts: new Map(), samples: new Map(), seen: new Map() };
      this.buckets.push(last);
      while (this.buckets.length && this.buckets[0].sec <= sec - this.keepSec) this.buckets.shift();
    }
    return last;
  }

  count(key: string, n = 1, now = Date.now()): void {
    const b = this.bucket(now);
    b.counts.set(key, (b.counts.get(key) ?? 0) + n);
  }

  sample(key: string, value: number, now = Date.now()): void {
    const b = this.bucket(now);
    const list = b.samples.get(key) ?? [];
    const seen = (b.seen.get(key) ?? 0) + 1;
    b.seen.set(key, seen);
    b.samples.set(key, list);
    if (list.length < this.maxSamples) list.push(value);
    else {
      const at = Math.floor(Math.random() * seen);
      if (at < this.maxSamples) list[at] = value;
    }
  }

  private recent(windowSec: number, now: number): Bucket[] {
    const from = Math.floor(now / 1000) - windowSec + 1;
    return this.buckets.filter((b) => b.sec >= from);
  }

  sum(key: string, windowSec: number, now = Date.now()): number {
    return this.recent(windowSec, now).reduce((n, b) => n + (b.counts.get(key) ?? 0), 0);
  }

  values(key: string, windowSec: number, now = Date.now()): number[] {
    return this.recent(windowSec, now).flatMap((b) => b.samples.get(key) ?? []);
  }
}

/** Nearest-rank quantile; null for no values. */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
