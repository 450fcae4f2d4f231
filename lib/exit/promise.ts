// ExitPromise: what a gate in promise mode holds. The thresholds certified for (epsilon,
// delta) from the manifest's calibration counts, the guard that moves along them on audit
// evidence, the label-free drift alarm, the ledger of audits in flight, and the sampling of
// audits: a share of the frames at or above the certified threshold that ride with a frame
// forwarded anyway (so an audit adds its frame bytes to a message that goes anyway, not a
// message of its own), raised while the stream looks changed, within a budget per minute,
// paused while answers do not come back. The share depends on past frames only, never on
// the frame drawn, so the audited losses stay a fair sample for the confidence sequence.
import type { ExitRisk } from '../model/manifest';
import { certify, checkLevel, rungsFor } from './risk';
import { ExitGuard, type GuardChange } from './guard';
import { StreamWatch, type StreamEvent } from './drift';
import { AuditLedger } from './ledger';

export type PromiseLoss = 'disagreement' | 'error';

export interface PromiseSettings { epsilon: unknown; delta: unknown; auditShare: unknown; auditBudget?: unknown; auditRideMs?: unknown; loss?: unknown }

export interface CheckedSettings { epsilon: number; delta: number; auditShare: number; auditBudget: number; auditRideMs: number; loss: PromiseLoss }

/** split-link's default coalescing budget: a frame forwarded this long ago is likely still waiting for company. */
export const DEFAULT_AUDIT_RIDE_MS = 1000;
/** The share of candidates audited while the stream looks changed: evidence must come fast then. */
export const SURGE_SHARE = 0.5;
/** Audits bought at the surge share once a tightened gate's stream looks calibrated again: enough to relax a rung or more. */
export const RETURN_AUDITS = 1000;

/** Settings as an operator typed them, refused with a message naming the one that is wrong. */
export function checkSettings(s: PromiseSettings): CheckedSettings {
  const epsilon = checkLevel('epsilon', s.epsilon);
  const delta = checkLevel('delta', s.delta);
  const share = typeof s.auditShare === 'string' && s.auditShare.trim() !== '' ? Number(s.auditShare) : s.auditShare;
  if (typeof share !== 'number' || !(share >= 0 && share <= 0.5)) throw new RangeError(`audit share must be a number from 0 to 0.5 (at most half the exits audited), got ${JSON.stringify(s.auditShare)}`);
  const budgetRaw = s.auditBudget === undefined || s.auditBudget === '' ? 0 : Number(s.auditBudget);
  if (!(Number.isInteger(budgetRaw) && budgetRaw >= 0)) throw new RangeError(`audit budget must be a whole number of audits per minute (0 = no cap), got ${JSON.stringify(s.auditBudget)}`);
  const ride = s.auditRideMs === undefined || s.auditRideMs === '' ? DEFAULT_AUDIT_RIDE_MS : Number(s.auditRideMs);
  if (!(Number.isFinite(ride) && ride >= 0)) throw new RangeError(`audit ride must be a number of milliseconds >= 0 (0 = audit any exit), got ${JSON.stringify(s.auditRideMs)}`);
  const loss = s.loss === undefined || s.loss === '' ? 'disagreement' : s.loss;
  if (loss !== 'disagreement' && loss !== 'error') throw new RangeError(`loss must be "disagreement" or "error", got ${JSON.stringify(s.loss)}`);
  return { epsilon, delta, auditShare: share, auditBudget: budgetRaw, auditRideMs: ride, loss };
}

/** The per-threshold counts of one loss from the manifest; "error" needs labelled calibration. */
export function riskCounts(risk: ExitRisk, loss: PromiseLoss): { threshold: number; exited: number; losses: number }[] {
  if (loss === 'error' && risk.table.some((r) => r.wrong === undefined)) throw new Error(`the manifest's exit.risk was measured without labels: only loss "disagreement" is calibrated`);
  return risk.table.map((r) => ({ threshold: r.threshold, exited: r.exited, losses: loss === 'error' ? r.wrong! : r.disagree }));
}

export interface PromiseReport {
  epsilon: number; delta: number; audits: number; disagreements: number; lower: number; upper: number; tightened: boolean; paused: boolean;
  /** The drift alarm holds the gate at its drift rung: the stream is not the one certified. */
  streamChanged?: boolean;
}

export interface AuditTicket { id: number; copy: boolean }

export class ExitPromise {
  readonly guard: ExitGuard;
  readonly ledger: AuditLedger;
  readonly watch: StreamWatch;
  /** Told of each label-free event (the stream left the calibration, or came back): for the log. */
  onStream: ((e: StreamEvent) => void) | null = null;
  /** What the calibration certified at (epsilon, delta): threshold, exit rate, upper bound. */
  readonly certified: { threshold: number; exitRate: number; upper: number | null };
  private budgetMinute = -1;
  private budgetUsed = 0;
  audited = 0;
  answered = 0;
  paused = false;
  private lastForwardAt = Number.NEGATIVE_INFINITY;
  /** Frames seen and how many fell below the alarm's level since the last event: the new baseline once audits re-earn the exits. */
  private sinceEvent = { frames: 0, below: 0 };
  /** audited when the stream came back, or null when it has not. */
  private returnedAt: number | null = null;

  constructor(readonly settings: CheckedSettings, risk: ExitRisk, private readonly random: () => number = Math.random, ledger = new AuditLedger()) {
    const counts = riskCounts(risk, settings.loss);
    const c = certify(counts, risk.samples, settings.epsilon, settings.delta);
    if (c.threshold === null) throw new Error(`no threshold is certified for epsilon ${settings.epsilon}, delta ${settings.delta} on ${risk.samples} calibration samples (${risk.dataset}): raise epsilon or delta, or calibrate on more samples`);
    this.certified = { threshold: c.threshold, exitRate: c.exitRate, upper: c.upper };
    const rungs = rungsFor(counts, risk.samples, settings.epsilon, settings.delta);
    // A drift sends the gate to the threshold certified at epsilon/16: a margin for a shift
    // that multiplies the disagreement, until audits show how much of it is needed.
    const driftRung = certify(counts, risk.samples, settings.epsilon / 16, settings.delta).threshold ?? undefined;
    this.guard = new ExitGuard({ rungs, epsilon: settings.epsilon, delta: settings.delta, driftRung });
    this.ledger = ledger;
    // The alarm watches the frames under the next rung up: the calibration put few there.
    const level = this.guard.rungs[1] ?? Number.POSITIVE_INFINITY;
    const above = counts.filter((c) => c.threshold >= level).sort((a, b) => a.threshold - b.threshold)[0];
    this.watch = new StreamWatch(level, 1 - (above?.exited ?? 0) / risk.samples);
  }

  get threshold(): number { return this.guard.threshold; }

  /**
   * Whether to audit a frame of this confidence: exited frames get a copy sent (copy), frames
   * forwarded anyway (a tightened gate) just have their answer compared. Null when not drawn,
   * over budget, or paused because earlier audits went unanswered.
   */
  draw(index: number, confidence: number, exited: boolean, now = Date.now()): AuditTicket | null {
    this.paused = this.ledger.stalled(now);
    // Whether a forwarded frame went within the ride window before this one: known before
    // this frame, so the same for an exit and a forwarded frame of any confidence.
    const rides = this.settings.auditRideMs === 0 || now - this.lastForwardAt <= this.settings.auditRideMs;
    if (!exited) this.lastForwardAt = now;
    if (this.paused || !rides || confidence < this.guard.auditFloor || this.settings.auditShare === 0) return null;
    // While the stream looks changed or back, the latest audits look worse than epsilon, or
    // just after a change, audits go up so evidence comes fast; the budget still caps them.
    const surge = this.guard.suspicious || this.reEarning();
    const share = surge ? Math.max(this.settings.auditShare, SURGE_SHARE) : this.settings.auditShare;
    if (this.random() >= share) return null;
    const minute = Math.floor(now / 60_000);
    if (minute !== this.budgetMinute) { this.budgetMinute = minute; this.budgetUsed = 0; }
    if (this.settings.auditBudget && this.budgetUsed >= this.settings.auditBudget) return null;
    this.budgetUsed++;
    this.audited++;
    return { id: this.ledger.open(index, confidence, now), copy: exited };
  }

  /**
   * Every frame's exit confidence, exited or not, for the label-free alarm; returns the
   * change an alarm made. Call after draw (the alarm may move the threshold for later frames).
   */
  observe(confidence: number): GuardChange | null {
    this.sinceEvent.frames++;
    if (confidence < this.watch.level) this.sinceEvent.below++;
    const e = this.watch.observe(confidence);
    if (!e) return null;
    this.sinceEvent = { frames: 0, below: 0 };
    this.onStream?.(e);
    if (e.kind === 'left') { this.returnedAt = null; return this.guard.drifted(e.evidence); }
    // Back: audits are worth buying now to re-earn the exits (more than they cost: every
    // rung relaxed forwards fewer frames). The threshold itself moves only on their evidence.
    if (this.guard.tightened) this.returnedAt = this.audited;
    return null;
  }

  private reEarning(): boolean {
    if (this.returnedAt === null || !this.guard.tightened) return false;
    return this.audited - this.returnedAt < RETURN_AUDITS;
  }

  /** What split-stats shows and /metrics exports: the promise and the live evidence on it. */
  report(): PromiseReport {
    const b = this.guard.bounds();
    return { epsilon: this.settings.epsilon, delta: this.settings.delta, audits: b.n, disagreements: b.losses, lower: b.lower, upper: b.upper, tightened: this.guard.tightened, paused: this.paused, streamChanged: this.guard.uncertified };
  }

  /** The cloud's answer to an audit; returns the change it caused, or undefined if the audit is unknown or stale. */
  answer(id: number, cloudIndex: number | null): { loss: 0 | 1; change: GuardChange | null } | undefined {
    const p = this.ledger.close(id);
    if (!p || cloudIndex === null) return undefined;
    this.answered++;
    this.paused = false;
    const loss: 0 | 1 = p.index === cloudIndex ? 0 : 1;
    const wasUncertified = this.guard.uncertified;
    const change = this.guard.record(p.confidence, loss);
    // Audits re-earned the certified rung on the changed stream: that stream is the baseline now.
    if (wasUncertified && !this.guard.uncertified) {
      const f = this.sinceEvent;
      this.watch.rebase(f.frames ? f.below / f.frames : 0);
    }
    return { loss, change };
  }
}
