// Anytime-valid confidence sequence for the live disagreement rate of audited exits: bounds
// that hold at every moment at once, so the gate may look after each audit answer (a fixed-n
// interval looked at repeatedly would fail far more often than delta). Betting martingales
// (Waudby-Smith & Ramdas 2023) on a grid of candidate rates, with predictable bets.

const GRID = 400;
/**
 * The most a bet that the rate is below m may stake: one loss then costs this share of the
 * wealth. A loss is rare where such bets pay (the running mean is well under m), so a high
 * stake is what lets a run of agreeing audits prove a small rate in a few hundred.
 */
const BELOW_CAP = 0.8;

export interface Bounds { n: number; losses: number; lower: number; upper: number }

export class ConfidenceSequence {
  private readonly grid: Float64Array;
  /** log wealth of the bet "the rate is below m" (rejects m as too high) and "above m". */
  private readonly below: Float64Array;
  private readonly above: Float64Array;
  private readonly threshold: number;
  n = 0;
  losses = 0;

  /** delta is split between the two sides: [lower, upper] covers the rate with prob >= 1 - delta. */
  constructor(readonly delta: number) {
    this.grid = new Float64Array(GRID);
    for (let i = 0; i < GRID; i++) this.grid[i] = (i + 0.5) / GRID;
    this.below = new Float64Array(GRID);
    this.above = new Float64Array(GRID);
    this.threshold = Math.log(2 / delta);
  }

  /** One audited answer: 1 when the edge's answer differed from the cloud's. */
  push(loss: 0 | 1): void {
    // Bets use only the past (the running mean, shrunk towards 1/2), as Ville's inequality needs.
    const mean = (this.losses + 0.5) / (this.n + 1);
    for (let i = 0; i < GRID; i++) {
      const m = this.grid[i];
      // Kelly's bet for a Bernoulli against rate m, at the running estimate; capped so one
      // loss costs at most BELOW_CAP of the wealth (one agreement at most half).
      const kelly = (mean - m) / (m * (1 - m));
      const lamBelow = clamp(-kelly, 0, BELOW_CAP / (1 - m));
      const lamAbove = clamp(kelly, 0, 0.5 / m);
      this.below[i] += Math.log(1 - lamBelow * (loss - m));
      this.above[i] += Math.log(1 + lamAbove * (loss - m));
    }
    this.n++;
    this.losses += loss;
  }

  /** The ends of the set of rates not yet rejected, widened by one grid cell for rates between cells. */
  bounds(): Bounds {
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < GRID; i++) {
      if (this.above[i] < this.threshold && this.below[i] < this.threshold) { if (lo < 0) lo = i; hi = i; }
    }
    const cell = 1 / GRID;
    if (lo < 0) return { n: this.n, losses: this.losses, lower: 0, upper: 1 };
    return { n: this.n, losses: this.losses, lower: lo === 0 ? 0 : Math.max(0, this.grid[lo] - cell), upper: hi === GRID - 1 ? 1 : Math.min(1, this.grid[hi] + cell) };
  }
}

function clamp(v: number, lo: number, hi: number): number { return v < lo ? lo : v > hi ? hi : v; }
