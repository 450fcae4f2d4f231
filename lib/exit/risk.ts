// Risk control for early exits: choose a threshold from a calibration split so that, with
// probability >= 1 - delta, the share of exited answers that differ from the full model's
// is <= epsilon (Learn-then-Test, exact binomial p-values, thresholds tested in a fixed
// sequence from the most conservative down). Label-free: the loss is disagreement with the
// tail; with labels the same procedure bounds the exited error instead.

/** log of the binomial coefficient C(n, k), via log-gamma sums (exact enough for n <= 1e7). */
function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}
const LOG_FACT: number[] = [0];
function logFactorial(n: number): number {
  for (let i = LOG_FACT.length; i <= n; i++) LOG_FACT[i] = LOG_FACT[i - 1] + Math.log(i);
  return LOG_FACT[n];
}

/** P(Bin(n, p) <= k), summed exactly in log space. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(logChoose(n, i) + i * lp + (n - i) * lq);
  return Math.min(1, sum);
}

/** P(Bin(n, p) = k). */
export function binomialPmf(k: number, n: number, p: number): number {
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  return Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/**
 * Clopper-Pearson upper bound: the p at which seeing <= k of n has probability delta.
 * P(true p > bound) <= delta for every n and p.
 */
export function clopperPearsonUpper(k: number, n: number, delta: number): number {
  if (n === 0 || k >= n) return 1;
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > delta) lo = mid; else hi = mid;
  }
  return hi;
}

/** Clopper-Pearson lower bound: P(true p < bound) <= delta. */
export function clopperPearsonLower(k: number, n: number, delta: number): number {
  if (k === 0) return 0;
  return 1 - clopperPearsonUpper(n - k, n, delta);
}

/** One calibration sample: the exit branch's confidence and whether its answer was wrong. */
export interface RiskSample { confidence: number; loss: 0 | 1 }

export interface RiskPoint {
  threshold: number;
  exited: number;
  losses: number;
  exitRate: number;
  /** p-value of H0 "exited risk > epsilon" (exact binomial); rejected when <= delta. */
  pValue: number;
  /** Clopper-Pearson upper bound on the exited risk at level delta. */
  upper: number;
}

export interface RiskChoice {
  epsilon: number;
  delta: number;
  /** The lowest threshold certified, or null when none is (then nothing may exit). */
  threshold: number | null;
  exitRate: number;
  upper: number | null;
  /** The thresholds tested, most conservative first, down to the first that failed. */
  tested: RiskPoint[];
}

/** Candidate thresholds: quantiles of the calibration confidences, most conservative first. */
export function candidateThresholds(samples: RiskSample[], count = 100): number[] {
  const c = samples.map((s) => s.confidence).sort((a, b) => b - a);
  const out = new Set<number>();
  for (let i = 1; i <= count; i++) {
    const v = c[Math.min(c.length - 1, Math.floor((i / count) * c.length) - 1)];
    if (v !== undefined) out.add(v);
  }
  return [...out].sort((a, b) => b - a);
}

/** Counts at one threshold of a calibration split: what exits and how many of those are wrong. */
export interface RiskCount { threshold: number; exited: number; losses: number }

/** The counts at each threshold; what the manifest stores, so a gate can certify any (epsilon, delta). */
export function riskTable(samples: RiskSample[], thresholds = candidateThresholds(samples)): RiskCount[] {
  return [...thresholds].sort((a, b) => b - a).map((threshold) => {
    let exited = 0;
    let losses = 0;
    for (const s of samples) if (s.confidence >= threshold) { exited++; losses += s.loss; }
    return { threshold, exited, losses };
  });
}

/**
 * Learn-then-Test in a fixed sequence: thresholds from the most conservative down; each is
 * certified while its p-value is <= delta, and the first that fails stops the walk. The
 * sequence is fixed before looking at the losses, so the family-wise error stays <= delta.
 */
export function certify(table: RiskCount[], total: number, epsilon: number, delta: number): RiskChoice {
  checkLevel('epsilon', epsilon);
  checkLevel('delta', delta);
  const tested: RiskPoint[] = [];
  let chosen: RiskPoint | null = null;
  // Thresholds that exit too few samples to ever pass (even with no loss) are skipped: that
  // depends on the confidences only, not the losses, so the sequence stays fixed in advance.
  const fewest = Math.ceil(Math.log(delta) / Math.log1p(-epsilon));
  for (const c of [...table].sort((a, b) => b.threshold - a.threshold)) {
    if (c.exited < fewest) continue;
    const p: RiskPoint = {
      ...c, exitRate: total ? c.exited / total : 0,
      pValue: binomialCdf(c.losses, c.exited, epsilon), upper: clopperPearsonUpper(c.losses, c.exited, delta),
    };
    tested.push(p);
    if (p.pValue > delta) break;
    chosen = p;
  }
  return { epsilon, delta, threshold: chosen?.threshold ?? null, exitRate: chosen?.exitRate ?? 0, upper: chosen?.upper ?? null, tested };
}

export function learnThenTest(samples: RiskSample[], epsilon: number, delta: number, thresholds?: number[]): RiskChoice {
  return certify(riskTable(samples, thresholds), samples.length, epsilon, delta);
}

/**
 * The guard's ladder: the threshold certified at epsilon, those certified at epsilon/2 .. /32
 * (each exits less and is surer), thresholds that exit 90%, 80% .. 10% of the calibration
 * split, then no exits at all.
 */
export function rungsFor(table: RiskCount[], total: number, epsilon: number, delta: number): number[] {
  const base = certify(table, total, epsilon, delta).threshold;
  const out = new Set<number>();
  for (let e = epsilon; e >= epsilon / 32; e /= 2) {
    const t = certify(table, total, e, delta).threshold;
    if (t !== null) out.add(t);
  }
  const byRate = [...table].sort((a, b) => a.threshold - b.threshold);
  for (let rate = 0.9; rate > 0.05; rate -= 0.1) {
    const t = byRate.find((c) => c.exited <= rate * total)?.threshold;
    if (t !== undefined && (base === null || t > base)) out.add(t);
  }
  out.add(Number.POSITIVE_INFINITY);
  return [...out].sort((a, b) => a - b);
}

/** epsilon and delta must be in (0, 1): refused with a message that says which and why. */
export function checkLevel(name: string, v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !(n > 0 && n < 1)) throw new RangeError(`${name} must be a number in (0, 1), got ${JSON.stringify(v)}`);
  return n;
}
