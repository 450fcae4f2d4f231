// The exit promise's calibration: run head (with its exit branch) and the unsplit tail on a
// labelled split, and count per threshold how many exit and how many of those disagree
// with the tail (label-free) or are wrong (labels). The manifest keeps the counts, so a
// gate can certify any (epsilon, delta) at start-up; a few are certified here too.
import type { ModelRuntime } from '../model/runtime';
import type { ExitRisk } from '../model/manifest';
import { preprocessPixels, pixelsPerFrame } from '../model/preprocess';
import { argmax, confidence } from '../exit/policy';
import { candidateThresholds, certify, riskTable } from '../exit/risk';

export interface ExitOutcomes { count: number; confidence: Float64Array; exitPred: Int32Array; tailPred: Int32Array }

const BATCH = 64;

/** Exit confidence and answer, and the full model's answer, of every image (raw pixels). */
export async function exitOutcomes(rt: ModelRuntime, images: Uint8Array, count: number): Promise<ExitOutcomes> {
  const m = rt.manifest;
  const classes = m.labels.length;
  const per = pixelsPerFrame(m);
  const out: ExitOutcomes = { count, confidence: new Float64Array(count), exitPred: new Int32Array(count), tailPred: new Int32Array(count) };
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const head = await rt.head(preprocessPixels(m, images.subarray(start * per, (start + n) * per), n), n);
    if (!head.exitLogits) throw new Error(`bundle ${m.name} has no exit branch (head.exitLogits): there is nothing to calibrate`);
    const logits = await rt.tail(head.features, n);
    for (let i = 0; i < n; i++) {
      const c = confidence(head.exitLogits, i * classes, classes, m.exit?.confidence ?? 'max_softmax');
      out.confidence[start + i] = c.confidence;
      out.exitPred[start + i] = c.index;
      out.tailPred[start + i] = argmax(logits, i * classes, classes);
    }
  }
  return out;
}

/** The few (epsilon, delta) certified into the manifest; a gate certifies others from the table. */
export const CERTIFIED_LEVELS: [number, number][] = [[0.01, 0.05], [0.02, 0.05], [0.05, 0.05], [0.02, 0.1]];

export function exitRisk(o: ExitOutcomes, labels: ArrayLike<number> | null, dataset: string): ExitRisk {
  const agree = Array.from(o.confidence, (confidence, i) => ({ confidence, loss: (o.exitPred[i] === o.tailPred[i] ? 0 : 1) as 0 | 1 }));
  const thresholds = candidateThresholds(agree, 200);
  const disagree = riskTable(agree, thresholds);
  const wrong = labels ? riskTable(Array.from(o.confidence, (confidence, i) => ({ confidence, loss: (o.exitPred[i] === labels[i] ? 0 : 1) as 0 | 1 })), thresholds) : null;
  const r6 = (v: number | null) => (v === null ? null : Math.round(v * 1e6) / 1e6);
  const certified: ExitRisk['certified'] = [];
  for (const [loss, table] of [['disagreement', disagree], ['error', wrong]] as const) {
    if (!table) continue;
    for (const [epsilon, delta] of CERTIFIED_LEVELS) {
      const c = certify(table, o.count, epsilon, delta);
      certified.push({ loss, epsilon, delta, threshold: r6(c.threshold), exitRate: r6(c.exitRate)!, upper: r6(c.upper) });
    }
  }
  return {
    dataset, samples: o.count,
    table: disagree.map((d, i) => ({ threshold: r6(d.threshold)!, exited: d.exited, disagree: d.losses, ...(wrong ? { wrong: wrong[i].losses } : {}) })),
    certified,
  };
}

