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
    if (this.factor > 1 && this.p0 >= 0.5) return null; // a rise above a share most frames are in tells little
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

/** Frames of a shifted stream the watch learns its rate on before testing for the way back. */
const LEARN_FRAMES = 200;

export type StreamEvent = { kind: 'left' | 'back'; evidence: DriftEvidence };

/**
 * The two label-free tests in turn: "the stream left the calibration" (the share below the
 * level rose), then, on the rate the changed stream showed, "the stream came back" (the
 * share fell to the calibrated one again), then the first again. Neither proves anything
 * about disagreement: leaving voids the offline certificate, coming back only says that
 * audits are now worth buying to re-earn the exits.
 */
export class StreamWatch {
  private readonly left: DriftAlarm;
  private back: DriftAlarm | null = null;
  private learning: { frames: number; below: number } | null = null;

  constructor(readonly level: number, readonly calibrated: number) {
    this.left = new DriftAlarm(level, calibrated);
  }

  get watching(): 'left' | 'back' { return this.learning || this.back ? 'back' : 'left'; }
  get expected(): number { return this.left.expected; }

  observe(confidence: number): StreamEvent | null {
    if (this.learning) {
      this.learning.frames++;
      if (confidence < this.level) this.learning.below++;
      if (this.learning.frames < LEARN_FRAMES) return null;
      const rate = this.learning.below / this.learning.frames;
      this.learning = null;
      // Already as calibrated as it gets (a short burst): back at once.
      if (rate <= 1.5 * this.left.expected) return this.returned({ frames: LEARN_FRAMES, below: Math.round(rate * LEARN_FRAMES), level: this.level, expected: this.left.expected, statistic: 0 });
      this.back = new DriftAlarm(this.level, rate, this.left.expected / rate, 12);
      return null;
    }
    if (this.back) {
      const e = this.back.observe(confidence);
      return e ? this.returned(e) : null;
    }
    const e = this.left.observe(confidence);
    if (!e) return null;
    this.learning = { frames: 0, below: 0 };
    return { kind: 'left', evidence: e };
  }

  /** Audits re-earned the certified threshold on a changed stream: watch for leaving that one. */
  rebase(rate: number): void {
    this.learning = null;
    this.back = null;
    this.left.rebase(Math.max(this.left.expected, rate));
  }

  private returned(evidence: DriftEvidence): StreamEvent {
    this.back = null;
    return { kind: 'back', evidence };
  }
}
