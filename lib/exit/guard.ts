// ExitGuard: keeps the live promise of an early-exit gate. It holds anytime-valid bounds on
// the disagreement of exited answers (from audits the cloud answered), tightens the
// threshold one rung when the lower bound shows the promise broken, and relaxes one rung
// only when the upper bound at the looser rung is <= epsilon on evidence gathered since
// the last change. Every change carries the evidence it was made on.
import { ConfidenceSequence, type Bounds } from './confseq';

const LATEST = 200;
const MIN_SEEN = 20;

export interface GuardOptions {
  /** Thresholds from the certified one (index 0) up to the most conservative; Infinity = no exits. */
  rungs: number[];
  epsilon: number;
  delta: number;
  /** Audits per alarm block: the tighten test also runs on recent blocks, so a late drift is seen fast. */
  block?: number;
}

export interface GuardChange {
  kind: 'tighten' | 'relax';
  from: number;
  to: number;
  /** The bounds the decision was made on (the current rung's for tighten, the looser rung's for relax). */
  evidence: Bounds;
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
  private looser: ConfidenceSequence | null = null;
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
  }

  /** The threshold exits use now. */
  get threshold(): number { return this.rungs[this.index]; }
  /** Frames at or above this confidence are audit candidates: the certified rung, whatever the current one. */
  get auditFloor(): number { return this.rungs[0]; }
  get tightened(): boolean { return this.index > 0; }
  /** The latest audits disagree more than epsilon (a point estimate, not yet proof): audit more. */
  get suspicious(): boolean {
    const b = this.recent.bounds();
    return (b.n >= 5 && b.losses > this.epsilon * b.n) || (this.looser !== null && this.sinceChange.n < 50);
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
    if (this.looser && confidence >= this.rungs[this.index - 1]) this.looser.push(loss);
    const now = this.sinceChange.bounds();
    const block = this.recent.bounds();
    if (now.lower > this.epsilon || block.lower > this.epsilon) {
      if (this.index < this.rungs.length - 1) return this.move(this.tightenTo() - this.index, now.lower > this.epsilon ? now : block);
    } else if (this.looser) {
      const l = this.looser.bounds();
      if (l.upper <= this.epsilon) return this.move(-1, l);
      // The looser rung is shown broken now: start its evidence again, so that what the
      // drift did does not hold it back once the drift is over.
      if (l.lower > this.epsilon) this.looser = new ConfidenceSequence(this.delta);
    }
    if (this.recent.n >= this.block) this.recent = new ConfidenceSequence(this.delta);
    return null;
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

  private move(step: number, evidence: Bounds): GuardChange {
    const from = this.threshold;
    this.index += step;
    this.sinceChange = new ConfidenceSequence(this.delta);
    this.recent = new ConfidenceSequence(this.delta);
    this.looser = this.index > 0 ? new ConfidenceSequence(this.delta) : null;
    const change: GuardChange = { kind: step > 0 ? 'tighten' : 'relax', from, to: this.threshold, evidence, audits: this.audits };
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
  return c.kind === 'tighten'
    ? `promise broken: ${e.losses} of ${e.n} audited exits disagreed with the cloud, lower bound ${pct(e.lower)} > epsilon ${pct(epsilon)}; threshold ${t(c.from)} -> ${t(c.to)}`
    : `audits allow relaxing: ${e.losses} of ${e.n} audited answers at ${t(c.to)} disagreed, upper bound ${pct(e.upper)} <= epsilon ${pct(epsilon)}; threshold ${t(c.from)} -> ${t(c.to)}`;
}
