// Sets of sequence numbers kept as runs (from..to), not one entry per number: a skip of a
// million seqs costs one run, and finding, splitting or dropping a run is a binary search
// over at most `maxRuns` of them. What the gap watch needs whatever numbers a peer sends.

export interface Run { from: number; to: number; since: number }

export class RunSet {
  /** Sorted by `from`, disjoint; appended at the end in seq order, so also in `since` order. */
  readonly runs: Run[] = [];
  /** Seqs in all runs. */
  size = 0;

  constructor(private readonly maxRuns = 1024) {}

  /** Adds from..to (above every seq held); returns the runs pushed out past the cap, oldest first. */
  append(from: number, to: number, since: number): Run[] {
    if (to < from) return [];
    this.runs.push({ from, to, since });
    this.size += to - from + 1;
    const over = this.runs.length - this.maxRuns;
    return over > 0 ? this.shift(over) : [];
  }

  /** Removes and returns the first `n` runs. */
  shift(n = 1): Run[] {
    const out = this.runs.splice(0, n);
    for (const r of out) this.size -= r.to - r.from + 1;
    return out;
  }

  /** Removes one seq; true when it was held. O(log runs) to find it, a splice to split its run. */
  delete(seq: number): boolean {
    const runs = this.runs;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = runs[mid];
      if (seq < r.from) hi = mid - 1;
      else if (seq > r.to) lo = mid + 1;
      else {
        this.size--;
        if (r.from === r.to) runs.splice(mid, 1);
        else if (seq === r.from) r.from++;
        else if (seq === r.to) r.to--;
        else runs.splice(mid + 1, 0, { from: seq + 1, to: r.to, since: r.since }), (r.to = seq - 1);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.runs.length = 0;
    this.size = 0;
  }
}

/**
 * Which of the last `window` seqs of a stream were seen: a ring of bits behind the highest
 * seq. Marking costs at most `window` bit clears on a jump, whatever its length.
 */
export class SeenWindow {
  private readonly bits: Uint32Array;
  private highest = -1;

  constructor(private readonly window = 8192) {
    this.bits = new Uint32Array(Math.ceil(window / 32));
  }

  /** Marks seq seen; true when it had been (within the window). Older than the window: false. */
  mark(seq: number): boolean {
    if (this.highest < 0 || seq > this.highest) {
      const from = this.highest < 0 ? seq : this.highest + 1;
      if (seq - from >= this.window) this.bits.fill(0);
      else for (let k = from; k < seq; k++) this.set(k, false);
      this.highest = seq;
      this.set(seq, true);
      return false;
    }
    if (this.highest - seq >= this.window) return false;
    const seen = this.get(seq);
    this.set(seq, true);
    return seen;
  }

  private get(seq: number): boolean {
    const i = seq % this.window;
    return (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  private set(seq: number, on: boolean): void {
    const i = seq % this.window;
    if (on) this.bits[i >>> 5] |= 1 << (i & 31);
    else this.bits[i >>> 5] &= ~(1 << (i & 31));
  }
}
