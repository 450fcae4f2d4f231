// Picks the rate level frame by frame from what the link measures, to hold a latency
// target while sending the largest (most accurate) frames the link can carry.
//
// Two signals, two speeds. Down, fast: when the latency (accept → answer), or the wait of
// the oldest frame still pending, passes the target, it steps one level down; and when
// the link also acknowledges less than it is sent, the link is full, so what it
// acknowledges per second is its capacity: divided by the frames per second the gateway
// forwards, that is the byte budget of one frame, and the controller jumps straight to
// the largest level inside it. Up, slow:
// after a calm spell it probes one level up; a level that congested the link is probed
// again only after a back-off that doubles each time, so a link that cannot carry it is
// not hit with a latency spike every few seconds.
// Offline, everything goes at the smallest level: it drains fastest when the link returns.
//
// The backlog's wait is measured (the oldest pending frame's age), not estimated from the
// depth: frames pending ÷ frames per second (Little's law) holds on average only, and a
// gateway that forwards in bursts over a batched link saw-tooths the depth far above the
// real wait, which read as congestion at every peak and kept the level at 0.

export interface LinkSignal {
  /** Frames accepted and not yet answered (the outbox depth). */
  pending: number;
  /** How long the oldest of them has waited (ms); without it the wait is pending ÷ fps. */
  oldestPendingMs?: number | null;
  /** Latency accept → answer, p95 (ms) of the answers of the last LATENCY_MEMORY_MS; null when none. */
  latencyMsP95: number | null;
  /** And its median: the smallest recent median is the link's latency without a queue. */
  latencyMsP50?: number | null;
  /** Bytes of answered frames per second, recently. */
  ackedBytesPerSec?: number;
  connected: boolean;
}

export interface RateControllerOptions {
  levels: number;
  /** Bytes each level puts on the link per frame; enables the throughput budget. */
  bytesPerFrame?: readonly number[];
  /** Round trip to hold (ms). */
  targetMs?: number;
  /** Calm time before probing one level up (ms). */
  upAfterMs?: number;
  /**
   * Calm, and so a time to try a level up: the latency p95 is below the target and at
   * most this share of the target above the link's latency without a queue.
   */
  calmShare?: number;
  /** Share of the measured capacity a level may use; the rest drains the backlog. */
  headroom?: number;
  /** First and longest wait before probing a level that congested the link again (ms). */
  probeBackoffMs?: number;
  maxProbeBackoffMs?: number;
}

/** Acknowledged below this share of what the current level sends: the link is full. */
const SATURATED = 0.9;

/** How long the latency p95 remembers a queue: the link keeps the answers of the last 2 s. */
export const LATENCY_MEMORY_MS = 2000;

export interface RateDecision { level: number; reason: 'offline' | 'congested' | 'probe' | 'hold' }

/** Frames per second seen by next(), over a sliding span. */
class FrameRate {
  private readonly times: number[] = [];
  constructor(private readonly spanMs = 2000) {}

  tick(now: number): number {
    this.times.push(now);
    while (this.times.length && this.times[0] <= now - this.spanMs) this.times.shift();
    const span = Math.max(250, Math.min(this.spanMs, now - this.times[0]));
    return (this.times.length * 1000) / span;
  }
}

/** The smallest value of the last `spanMs`: the latency when nothing queues. */
class RecentMinimum {
  private readonly kept: { t: number; v: number }[] = []; // increasing v: a monotonic queue
  constructor(private readonly spanMs = 30_000) {}

  add(v: number | null, now: number): number | null {
    if (v !== null) {
      while (this.kept.length && this.kept[this.kept.length - 1].v >= v) this.kept.pop();
      this.kept.push({ t: now, v });
    }
    while (this.kept.length && this.kept[0].t <= now - this.spanMs) this.kept.shift();
    return this.kept.length ? this.kept[0].v : null;
  }
}

export class RateController {
  private level: number;
  private calmSince: number | null = null;
  private lastDown = -Infinity;
  private readonly fps = new FrameRate();
  private readonly baseLatency = new RecentMinimum();
  /** Per level: no probe before this time, and the back-off that set it. */
  private readonly blockedUntil: number[];
  private readonly backoff: number[];
  private readonly opts: Required<Omit<RateControllerOptions, 'bytesPerFrame'>> & { bytesPerFrame?: readonly number[] };

  constructor(options: RateControllerOptions) {
    if (!Number.isInteger(options.levels) || options.levels < 1) throw new Error('levels must be a positive integer');
    if (options.bytesPerFrame && options.bytesPerFrame.length !== options.levels) throw new Error(`bytesPerFrame needs ${options.levels} entries`);
    this.opts = {
      targetMs: 250, upAfterMs: 3000, calmShare: 0.3, headroom: 0.8, probeBackoffMs: 5000, maxProbeBackoffMs: 120_000, ...options,
    };
    this.level = options.levels - 1;
    this.blockedUntil = new Array(options.levels).fill(-Infinity);
    this.backoff = new Array(options.levels).fill(this.opts.probeBackoffMs);
  }

  get current(): number { return this.level; }

  /** The level for the next frame. */
  next(s: LinkSignal, now = Date.now()): number {
    return this.decide(s, now).level;
  }

  decide(s: LinkSignal, now = Date.now()): RateDecision {
    const fps = this.fps.tick(now);
    const { targetMs, upAfterMs } = this.opts;
    if (!s.connected) {
      this.level = 0;
      this.calmSince = null;
      return { level: 0, reason: 'offline' };
    }
    const backlogMs = s.oldestPendingMs ?? (s.pending * 1000) / fps;
    const slow = s.latencyMsP95 !== null && s.latencyMsP95 > targetMs;
    // Right after a step down the latency window still holds the answers of the queue
    // that caused it; only a backlog that still waits too long says the step was not enough.
    const latencyIsFresh = now - this.lastDown >= LATENCY_MEMORY_MS;
    if (backlogMs > targetMs || (slow && latencyIsFresh)) {
      this.calmSince = null;
      // Once per target interval at most: the frames already queued say nothing new.
      if (now - this.lastDown >= targetMs) this.stepDown(s, fps, now);
      return { level: this.level, reason: 'congested' };
    }
    const base = this.baseLatency.add(s.latencyMsP50 ?? s.latencyMsP95, now);
    const queueMs = s.latencyMsP95 === null || base === null ? 0 : s.latencyMsP95 - base;
    const calm = backlogMs < targetMs && !slow && queueMs <= this.opts.calmShare * targetMs;
    if (!calm) {
      this.calmSince = null;
      return { level: this.level, reason: 'hold' };
    }
    this.calmSince ??= now;
    // A level that held calmly for a spell has proven itself: its back-off starts over.
    if (now - this.calmSince >= upAfterMs) this.backoff[this.level] = this.opts.probeBackoffMs;
    const up = this.level + 1;
    if (up < this.opts.levels && now - this.calmSince >= upAfterMs && now >= this.blockedUntil[up]) {
      this.level = up;
      this.calmSince = now;
      return { level: up, reason: 'probe' };
    }
    return { level: this.level, reason: 'hold' };
  }

  private stepDown(s: LinkSignal, fps: number, now: number): void {
    const from = this.level;
    const costs = this.opts.bytesPerFrame;
    let to = Math.max(0, from - 1);
    const carried = costs && s.ackedBytesPerSec && fps > 0 ? s.ackedBytesPerSec / fps : 0;
    // What the link acknowledges is its capacity only when it carries less than is sent;
    // a link that keeps up and is slow anyway (delay, bursts) gets one step, not a jump.
    if (costs && carried > 0 && carried < SATURATED * costs[from]) {
      let fit = 0;
      for (let l = 0; l < costs.length; l++) if (costs[l] <= this.opts.headroom * carried) fit = l;
      to = Math.min(to, fit);
    }
    this.level = to;
    this.lastDown = now;
    // The level that congested the link waits longer each time before it is tried again.
    if (from > to) {
      this.blockedUntil[from] = now + this.backoff[from];
      this.backoff[from] = Math.min(this.opts.maxProbeBackoffMs, this.backoff[from] * 2);
    }
  }
}
