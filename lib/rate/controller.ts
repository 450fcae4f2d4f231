// Picks the rate level frame by frame from what the link measures. A small, explainable
// controller: step down fast when the backlog or the round trip says the link cannot
// carry the current rate, step up slowly when it has room to spare.

export interface LinkSignal {
  /** Frames accepted and not yet answered. */
  pending: number;
  /** Round trip publish → answer, p95 (ms), null when nothing was answered yet. */
  rttMsP95: number | null;
  connected: boolean;
}

export interface RateControllerOptions {
  levels: number;
  /** Round trip to hold (ms). */
  targetMs?: number;
  /** A backlog above this many frames means the link is behind. */
  maxBacklog?: number;
  /** Calm decisions needed before stepping up. */
  upAfter?: number;
}

export class RateController {
  private level: number;
  private calm = 0;
  private readonly targetMs: number;
  private readonly maxBacklog: number;
  private readonly upAfter: number;

  constructor(private readonly opts: RateControllerOptions) {
    this.level = opts.levels - 1;
    this.targetMs = opts.targetMs ?? 250;
    this.maxBacklog = opts.maxBacklog ?? 32;
    this.upAfter = opts.upAfter ?? 50;
  }

  get current(): number { return this.level; }

  /** The level for the next frame. */
  next(s: LinkSignal): number {
    const behind = s.pending > this.maxBacklog || (s.rttMsP95 !== null && s.rttMsP95 > this.targetMs);
    if (!s.connected || behind) {
      // Offline frames pile up in the outbox: the smallest ones drain fastest on return.
      this.level = s.connected ? Math.max(0, this.level - 1) : 0;
      this.calm = 0;
    } else if (s.pending < this.maxBacklog / 4 && (s.rttMsP95 === null || s.rttMsP95 < this.targetMs / 2)) {
      if (++this.calm >= this.upAfter && this.level < this.opts.levels - 1) {
        this.level++;
        this.calm = 0;
      }
    } else {
      this.calm = 0;
    }
    return this.level;
  }
}
