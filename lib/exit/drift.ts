// DriftAlarm: a label-free check that the stream is still the one the threshold was
// certified on. The certificate holds for frames like the calibration split; the gate sees,
// with no audit at all, how many frames fall below a confidence level the calibration
// put few frames under (the near-threshold band plus what is forwarded). A Bernoulli CUSUM
// on that share (calibrated rate p0 against `factor` x p0) raises the alarm when the share
// has risen: a shifted camera moves frames into that band long before enough audits come
// back to show the promise broken.

export interface DriftEvidence {
  /** Frames counted since the CUSUM last sat at zero, and how many of those fell below the level. */
  frames: number;
  below: number;
  /** The confidence level and the share of calibration frames under it. */
  level: number;
  expected: number;
  statistic: number;
}

export class DriftAlarm {
  private p0 = 0;
  private up = 0;
  private down = 0;
  private s = 0;
  private frames = 0;
  private below = 0;

  /** h: the log-likelihood ratio that fires; on the calibrated stream the mean run to a false alarm is >= e^h frames (Lorden), days at camera rates. */
  constructor(readonly level: number, expected: number, readonly factor = 3, readonly h = 16) {
    this.rebase(expected);
  }

  get expected(): number { return this.p0; }

  /** A new baseline share (after the gate re-earned its exits on a changed stream). */
  rebase(expected: number): void {
    this.p0 = Math.min(0.99, Math.max(1e-4, expected));
    const p1 = Math.min(0.999, this.factor * this.p0);
    this.up = Math.log(p1 / this.p0);
    this.down = Math.log((1 - p1) / (1 - this.p0));
    this.reset();
  }

  /** One frame's exit confidence; returns the evidence when the alarm fires (then it starts again). */
  observe(confidence: number): DriftEvidence | null {
    if (this.p0 >= 0.5) return null; // a level most frames fall under tells nothing
    const x = confidence < this.level;
    this.s += x ? this.up : this.down;
    this.frames++;
    if (x) this.below++;
    if (this.s <= 0) { this.reset(); return null; }
    if (this.s < this.h) return null;
    const e: DriftEvidence = { frames: this.frames, below: this.below, level: this.level, expected: this.p0, statistic: this.s };
    this.reset();
    return e;
  }

  private reset(): void { this.s = 0; this.frames = 0; this.below = 0; }
}
