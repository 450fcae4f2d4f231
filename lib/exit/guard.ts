// ExitGuard: keeps the live promise of an early-exit gate. It holds anytime-valid bounds on
// the disagreement of exited answers (from audits the cloud answered), tightens the
// threshold when the lower bound shows the promise broken or when the label-free drift
// alarm shows the stream is no longer the calibrated one (the offline certificate then
// covers nothing), and relaxes only as far as the upper bounds of the looser rungs, on
// evidence gathered since the last change, allow. Every change carries its evidence.
import { ConfidenceSequence, type Bounds } from './confseq';
import type { DriftEvidence } from './drift';

const LATEST = 200;
const MIN_SEEN = 20;
/** Audits after a drift alarm's change taken at the surge share: enough to see whether the drift rung holds. */
const SURGE_AUDITS = 100;

export interface GuardOptions {
  /** Thresholds from the certified one (index 0) up to the most conservative; Infinity = no exits. */
  rungs: number[];
  epsilon: number;
  delta: number;
  /** Audits per alarm block: the tighten test also runs on recent blocks, so a late drift is seen fast. */
  block?: number;
  /** Where a drift alarm sends the gate (a threshold; the first rung at or above it). Default: the fifth rung. */
  driftRung?: number;
}

export interface GuardChange {
  kind: 'tighten' | 'relax';
  from: number;
  to: number;
  /** The bounds the decision was made on (the current rung's for tighten, the looser rung's for relax). */
  evidence: Bounds;
  /** Set when a drift alarm, not audits, made the change. */
  drift?: DriftEvidence;
  audits: number;
}

export class ExitGuard {
  readonly rungs: number[];
  readonly epsilon: number;
  readonly delta: number;
  private readonly block: number;
  private index = 0;
  private sinceChange: ConfidenceSequence;
  private recent: ConfidenceSequence;
  /** Evidence since the last change for each looser rung (index = rung); relaxing walks them from the nearest. */
  private looser: ConfidenceSequence[] = [];
  private readonly driftIndex: number;
  /** Since a drift alarm and until the audits bring the gate back to the certified rung. */
  uncertified = false;
  private auditsAtChange = 0;
  audits = 0;
  disagreements = 0;
  readonly changes: GuardChange[] = [];
  /** The latest audits (confidence, loss), to choose how far a tighten must go. */
  private readonly latest: { confidence: number; loss: 0 | 1 }[] = [];

  constructor(o: GuardOptions) {
    if (!o.rungs.length) throw new Error('ExitGuard needs at least one threshold');
    this.rungs = [...o.rungs].sort((a, b) => a - b);
    this.epsilon = o.epsilon;
    this.delta = o.delta;
    this.block = o.block ?? 300;
    this.sinceChange = new ConfidenceSequence(o.delta);
    this.recent = new ConfidenceSequence(o.delta);
    const d = o.driftRung === undefined ? -1 : this.rungs.findIndex((r) => r >= o.driftRung!);
    this.driftIndex = d > 0 ? d : Math.min(4, this.rungs.length - 1);
  }

  /** The threshold exits use now. */
  get threshold(): number { return this.rungs[this.index]; }
  /** Frames at or above this confidence are audit candidates: the certified rung, whatever the current one. */
  get auditFloor(): number { return this.rungs[0]; }
  get tightened(): boolean { return this.index > 0; }
  /** Audit more: just after a drift alarm or a change, or the latest audits disagree twice epsilon (a point estimate, not yet proof). */
  get suspicious(): boolean {
    const b = this.recent.bounds();
    return (this.uncertified && this.audits - this.auditsAtChange < SURGE_AUDITS) || (b.n >= 50 && b.losses > 2 * this.epsilon * b.n) || (this.index > 0 && this.sinceChange.n < 50);
  }

  /** The live bounds on the disagreement of the answers exited at the current threshold. */
  bounds(): Bounds { return this.sinceChange.bounds(); }

  /**
   * One answered audit: the exit branch's confidence and whether its answer differed from the
   * cloud's. Returns the change it caused, if any.
   */
  record(confidence: number, loss: 0 | 1): GuardChange | null {
    this.audits++;
    this.disagreements += loss;
    this.latest.push({ confidence, loss });
    if (this.latest.length > LATEST) this.latest.shift();
    if (confidence >= this.threshold) {
      this.sinceChange.push(loss);
      this.recent.push(loss);
    }
    for (let r = 0; r < this.looser.length; r++) if (confidence >= this.rungs[r]) this.looser[r].push(loss);
    const now = this.sinceChange.bounds();
    const block = this.recent.bounds();
    if (now.lower > this.epsilon || block.lower > this.epsilon) {
      if (this.index < this.rungs.length - 1) return this.move(this.tightenTo() - this.index, now.lower > this.epsilon ? now : block);
    } else if (this.index > 0) {
      const to = this.relaxTo();
      if (to !== null) return this.move(to.rung - this.index, to.evidence);
    }
    if (this.recent.n >= this.block) this.recent = new ConfidenceSequence(this.delta);
    return null;
  }

  /**
   * The label-free alarm fired: the offline certificate no longer covers the stream, so the
   * gate moves to the drift rung (a wide margin) at once and earns its way back on audits.
   */
  drifted(e: DriftEvidence): GuardChange | null {
    this.uncertified = true;
    if (this.index >= this.driftIndex) return null;
    return this.move(this.driftIndex - this.index, this.sinceChange.bounds(), e);
  }

  /**
   * The loosest rung the audits allow, tested in a fixed sequence from the nearest looser
   * rung outwards, stopping at the first whose upper bound is above epsilon: the family of
   * tests errs only if the first rung that is really broken passes, so delta holds for all.
   */
  private relaxTo(): { rung: number; evidence: Bounds } | null {
    let best: { rung: number; evidence: Bounds } | null = null;
    for (let r = this.index - 1; r >= 0; r--) {
      const b = this.looser[r].bounds();
      if (b.upper > this.epsilon) {
        // Shown broken now: start its evidence again, so that what the drift did does not
        // hold it back once the drift is over.
        if (b.lower > this.epsilon) this.looser[r] = new ConfidenceSequence(this.delta);
        break;
      }
      best = { rung: r, evidence: b };
    }
    return best;
  }

  /**
   * Where a broken promise sends the gate: the loosest tighter rung at which the latest audits
   * show at most epsilon/2 disagreement on at least MIN_SEEN of them, else no exits at all.
   * Only a guess at where to go: the rung must then hold under its own audits.
   */
  private tightenTo(): number {
    for (let r = this.index + 1; r < this.rungs.length - 1; r++) {
      const seen = this.latest.filter((a) => a.confidence >= this.rungs[r]);
      const lost = seen.reduce((n, a) => n + a.loss, 0);
      if (seen.length >= MIN_SEEN && lost <= (this.epsilon / 2) * seen.length) return r;
    }
    return this.rungs.length - 1;
  }

  private move(step: number, evidence: Bounds, drift?: DriftEvidence): GuardChange {
    const from = this.threshold;
    this.index += step;
    this.auditsAtChange = this.audits;
    if (this.index === 0) this.uncertified = false;
    this.sinceChange = new ConfidenceSequence(this.delta);
    this.recent = new ConfidenceSequence(this.delta);
    // Relaxing keeps the evidence on the rungs still looser (audits sample them the same way
    // whatever the threshold); a tighten starts it all again, as the stream has changed.
    this.looser = step < 0 ? this.looser.slice(0, this.index) : Array.from({ length: this.index }, () => new ConfidenceSequence(this.delta));
    const change: GuardChange = { kind: step > 0 ? 'tighten' : 'relax', from, to: this.threshold, evidence, ...(drift ? { drift } : {}), audits: this.audits };
    this.changes.push(change);
    if (this.changes.length > 100) this.changes.shift();
    return change;
  }
}

/** One line for the log: what changed and on what evidence. */
export function describeChange(c: GuardChange, epsilon: number): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const t = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : 'no exits');
  const e = c.evidence;
  const d = c.drift;
  if (d) return `stream left the calibration: ${d.below} of the last ${d.frames} frames below confidence ${d.level.toFixed(4)} (calibrated ${pct(d.expected)}), CUSUM ${d.statistic.toFixed(1)}; the certificate no longer applies, threshold ${t(c.from)} -> ${t(c.to)} until audits allow relaxing`;
  return c.kind === 'tighten'
    ? `promise broken: ${e.losses} of ${e.n} audited exits disagreed with the cloud, lower bound ${pct(e.lower)} > epsilon ${pct(epsilon)}; threshold ${t(c.from)} -> ${t(c.to)}`
    : `audits allow relaxing: ${e.losses} of ${e.n} audited answers at ${t(c.to)} disagreed, upper bound ${pct(e.upper)} <= epsilon ${pct(epsilon)}; threshold ${t(c.from)} -> ${t(c.to)}`;
}
