// Bounded admission in front of a slow stage (the head model): at most `concurrency` items
// run at once and at most `capacity` wait; what a full queue cannot take is shed by a
// policy, counted, and never held. Without it a source faster than the model grows memory
// until the process dies (issue 21: 20,000 frames and 2.1 GB queued at 4,000 frames/s).
export type ShedPolicy = 'drop-newest' | 'drop-oldest' | 'keep-every-k';
export const SHED_POLICIES: readonly ShedPolicy[] = ['drop-newest', 'drop-oldest', 'keep-every-k'];

export interface AdmissionOptions {
  /** Items that may wait (not running); at least 1. */
  capacity: number;
  /** Items run at once; more than 1 lets the model batch them. */
  concurrency: number;
  policy: ShedPolicy;
  /** keep-every-k: while the queue is full, every k-th offered item is kept (the oldest waiting makes room). */
  keepEvery?: number;
}

export interface AdmissionCounts {
  /** Items offered; always offered = admitted + shed + waiting. */
  offered: number;
  /** Items handed to the stage (started running). */
  admitted: number;
  shed: number;
  waiting: number;
  running: number;
  /** True from when the queue is three quarters full until it drains to a quarter: what a source should slow down on. */
  pressure: boolean;
}

export interface AdmissionEvents<T> {
  run(item: T): Promise<void>;
  /** An item that will never run (the caller ends it: done() in Node-RED). */
  shed(item: T): void;
  /** Pressure turned on or off. */
  pressure?(on: boolean): void;
}

export function parsePolicy(value: unknown): ShedPolicy {
  const v = String(value || 'drop-oldest');
  if (!(SHED_POLICIES as readonly string[]).includes(v)) throw new Error(`shedding policy must be one of ${SHED_POLICIES.join(', ')}, not "${v}"`);
  return v as ShedPolicy;
}

export class Admission<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private running = 0;
  private offered = 0;
  private admitted = 0;
  private shedCount = 0;
  /** Items offered since the queue last filled (keep-every-k counts these). */
  private overflow = 0;
  private pressure = false;
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly keepEvery: number;

  constructor(private readonly opts: AdmissionOptions, private readonly on: AdmissionEvents<T>) {
    this.capacity = Math.max(1, Math.floor(opts.capacity));
    this.concurrency = Math.max(1, Math.floor(opts.concurrency));
    this.keepEvery = Math.max(1, Math.floor(opts.keepEvery ?? 2));
  }

  get waiting(): number { return this.queue.length - this.head; }

  /** Takes an item: it runs now, waits, or is shed (itself or, by policy, an older one). */
  offer(item: T): void {
    this.offered++;
    if (this.waiting < this.capacity) {
      this.overflow = 0;
      this.push(item);
    } else if (this.opts.policy === 'drop-newest') {
      this.drop(item);
    } else if (this.opts.policy === 'drop-oldest' || this.overflow++ % this.keepEvery === this.keepEvery - 1) {
      this.drop(this.shift()!);
      this.push(item);
    } else {
      this.drop(item);
    }
    this.setPressure();
  }

  counts(): AdmissionCounts {
    return { offered: this.offered, admitted: this.admitted, shed: this.shedCount, waiting: this.waiting, running: this.running, pressure: this.pressure };
  }

  /** Sheds everything waiting (on close); returns how many. */
  clear(): number {
    let n = 0;
    for (let item = this.shift(); item !== undefined; item = this.shift()) { this.drop(item); n++; }
    this.setPressure();
    return n;
  }

  private push(item: T): void {
    this.queue.push(item);
    this.pump();
  }

  private shift(): T | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head];
    (this.queue as (T | undefined)[])[this.head++] = undefined;
    // Compact now and then instead of an O(n) shift per item.
    if (this.head > 64 && this.head * 2 > this.queue.length) { this.queue.splice(0, this.head); this.head = 0; }
    return item;
  }

  private drop(item: T): void {
    this.shedCount++;
    this.on.shed(item);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting > 0) {
      const item = this.shift()!;
      this.running++;
      this.admitted++;
      const finish = () => { this.running--; this.pump(); this.setPressure(); };
      this.on.run(item).then(finish, finish);
    }
  }

  private setPressure(): void {
    // On at three quarters full, so a source told to pause stops before frames are shed; off at a quarter.
    const on = this.pressure ? this.waiting > this.capacity / 4 : this.waiting >= Math.ceil((this.capacity * 3) / 4);
    if (on === this.pressure) return;
    this.pressure = on;
    this.on.pressure?.(on);
  }
}

/**
 * The admissions of this process (one per split-head), so split-stats can report their
 * sums: cumulative, so a node closed by a redeploy keeps what it shed in the total.
 */
export class AdmissionTotals {
  private readonly live = new Set<{ counts(): AdmissionCounts }>();
  private retired = { offered: 0, admitted: 0, shed: 0 };

  add(a: { counts(): AdmissionCounts }): () => void {
    this.live.add(a);
    return () => {
      if (!this.live.delete(a)) return;
      const c = a.counts();
      this.retired = { offered: this.retired.offered + c.offered, admitted: this.retired.admitted + c.admitted, shed: this.retired.shed + c.shed };
    };
  }

  get size(): number { return this.live.size; }

  sum(): { offered: number; admitted: number; shed: number; waiting: number; running: number } {
    const t = { ...this.retired, waiting: 0, running: 0 };
    for (const a of this.live) {
      const c = a.counts();
      t.offered += c.offered; t.admitted += c.admitted; t.shed += c.shed; t.waiting += c.waiting; t.running += c.running;
    }
    return t;
  }
}

export const processAdmissions = new AdmissionTotals();
