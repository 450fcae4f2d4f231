// Early-exit decisions: how confident the exit branch is, and which threshold meets a
// target accuracy according to the bundle's calibration table.
import type { CalibrationPoint } from '../model/manifest';

export type ConfidenceMode = 'max_softmax' | 'entropy';

/** Softmax of one row, stable against large logits. */
export function softmax(logits: ArrayLike<number>, offset = 0, classes = logits.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < classes; i++) max = Math.max(max, logits[offset + i]);
  const p = new Float64Array(classes);
  let sum = 0;
  for (let i = 0; i < classes; i++) { p[i] = Math.exp(logits[offset + i] - max); sum += p[i]; }
  for (let i = 0; i < classes; i++) p[i] /= sum;
  return p;
}

export function argmax(values: ArrayLike<number>, offset = 0, count = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

export interface Decision { index: number; confidence: number; exit: boolean }

/**
 * Confidence of one row of exit logits. max_softmax: the top probability (higher is surer);
 * entropy: 1 − H(p)/log(K), so that for both modes higher means surer and one threshold
 * semantics serves both.
 */
export function confidence(logits: ArrayLike<number>, offset: number, classes: number, mode: ConfidenceMode): { index: number; confidence: number } {
  const p = softmax(logits, offset, classes);
  const index = argmax(p);
  if (mode === 'max_softmax') return { index, confidence: p[index] };
  let h = 0;
  for (const q of p) if (q > 0) h -= q * Math.log(q);
  return { index, confidence: 1 - h / Math.log(classes) };
}

export function decide(logits: ArrayLike<number>, offset: number, classes: number, mode: ConfidenceMode, threshold: number): Decision {
  const c = confidence(logits, offset, classes, mode);
  return { ...c, exit: c.confidence >= threshold };
}

/**
 * The lowest threshold (so the most exits) whose measured overall accuracy reaches the
 * target. Returns null when no calibrated threshold reaches it: then nothing should exit.
 */
export function thresholdForAccuracy(table: CalibrationPoint[], target: number): number | null {
  const ok = table.filter((p) => p.accuracy >= target).sort((a, b) => a.threshold - b.threshold);
  return ok.length ? ok[0].threshold : null;
}

/** The calibration point nearest a threshold, for showing the expected exit rate. */
export function expectedAt(table: CalibrationPoint[], threshold: number): CalibrationPoint | null {
  let best: CalibrationPoint | null = null;
  for (const p of table) if (!best || Math.abs(p.threshold - threshold) < Math.abs(best.threshold - threshold)) best = p;
  return best;
}
