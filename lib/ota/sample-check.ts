// The gate a new bundle passes before it serves a single frame: its own sample set runs
// through the whole split pipeline (head → every rate's encoder → integer coder → decoder
// → tail), and each rate must reach the accuracy its signed manifest claims, less a
// tolerance for the small sample. A bundle that errors, gives non-finite logits or
// collapses in accuracy is refused while the old one keeps running.
import { ModelRuntime } from '../model/runtime';
import { readSamples } from '../model/samples';
import { preprocessPixels } from '../model/preprocess';
import { argmax } from '../exit/policy';
import { RateCodec } from '../codec/rate-codec';
import { runBundle } from '../eval/bundle-run';
import { taskFor } from '../task';

export interface SampleCheckOptions {
  /** Samples to run, at most (the first ones of the set). */
  limit?: number;
  /** Allowed shortfall from each rate's claimed accuracy. */
  tolerance?: number;
  /** Accuracy every rate must reach whatever the manifest claims; default twice chance. */
  minAccuracy?: number;
}

/** `accuracy` against the labels, or (with `measure`) the task's agreement with the unsplit bundle. */
export interface RateCheck { level: number; accuracy: number; required: number; passed: boolean; measure?: string }
export interface SampleCheckResult { count: number; passed: boolean; rates: RateCheck[]; reason: string | null; ms: number }

/**
 * A bundle of another task has no labels in its sample set: each rate must agree with the
 * bundle's own unsplit answers (lib/task's measure) as well as the manifest claims.
 */
async function taskCheck(rt: ModelRuntime, inputs: Float32Array, n: number, tolerance: number, started: number): Promise<SampleCheckResult> {
  const m = rt.manifest;
  const task = taskFor(m);
  const unsplit = (await runBundle(rt, inputs, n, null)).outputs;
  const rates: RateCheck[] = [];
  for (const r of m.rates) {
    const outputs = (await runBundle(rt, inputs, n, r.level)).outputs;
    const bad = outputs.findIndex((o) => Object.values(o).some((t) => !t.data.every(Number.isFinite)));
    if (bad >= 0) return { count: n, passed: false, rates, reason: `rate ${r.level} gives non-finite outputs for sample ${bad}`, ms: Date.now() - started };
    const a = task.agreement(unsplit, outputs);
    const claimed = (r.measured?.agreement as { value?: number } | undefined)?.value;
    // maxAbsError is lower-is-better: allow twice the claimed error.
    const lowerIsBetter = a.measure === 'maxAbsError';
    const required = lowerIsBetter ? claimed ?? Infinity : Math.max(0.5, (claimed ?? 1) - tolerance);
    const passed = lowerIsBetter ? claimed === undefined || a.value <= 2 * claimed + 1e-6 : a.value >= required;
    rates.push({ level: r.level, accuracy: a.value, required, passed, measure: a.measure });
  }
  const failed = rates.find((r) => !r.passed);
  const reason = failed ? `rate ${failed.level}: agreement ${failed.accuracy.toFixed(4)} on ${n} samples, needs ${failed.required.toFixed(4)}` : null;
  return { count: n, passed: !failed, rates, reason, ms: Date.now() - started };
}

export async function sampleCheck(rt: ModelRuntime, opts: SampleCheckOptions = {}): Promise<SampleCheckResult> {
  const started = Date.now();
  const m = rt.manifest;
  const set = await readSamples(rt.bundle);
  const n = Math.min(set.count, opts.limit ?? 256);
  if (n === 0) throw new Error('the bundle has an empty sample set: nothing to check it with');
  const inputs = preprocessPixels(m, set.images.subarray(0, n * set.pixelsPerImage), n);
  if ((m.task?.kind ?? 'classification') !== 'classification') return taskCheck(rt, inputs, n, opts.tolerance ?? 0.05, started);
  const classes = m.labels.length;
  const floor = opts.minAccuracy ?? Math.min(1, 2 / classes);
  const tolerance = opts.tolerance ?? 0.05;
  const head = await rt.head(inputs, n);
  const rates: RateCheck[] = [];
  for (const r of m.rates) {
    const codec = new RateCodec(r);
    const latent = await rt.encode(r.level, head.features, n);
    const per = latent.length / n;
    // The integer coder frame by frame, as bottleneck-encode and tail-infer do.
    const decoded = new Float32Array(latent.length);
    for (let i = 0; i < n; i++) decoded.set(codec.decode(codec.encode(latent.subarray(i * per, (i + 1) * per)).payload), i * per);
    const logits = await rt.tail(await rt.decode(r.level, decoded, n), n);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      if (!row.every(Number.isFinite)) {
        return { count: n, passed: false, rates, reason: `rate ${r.level} gives non-finite logits for sample ${i}`, ms: Date.now() - started };
      }
      if (argmax(row) === set.labels[i]) correct++;
    }
    const claimed = typeof r.measured?.accuracy === 'number' ? r.measured.accuracy : 0;
    const required = Math.max(floor, claimed - tolerance);
    rates.push({ level: r.level, accuracy: correct / n, required, passed: correct / n >= required });
  }
  const failed = rates.find((r) => !r.passed);
  const reason = failed ? `rate ${failed.level}: ${(failed.accuracy * 100).toFixed(1)}% on ${n} samples, needs ${(failed.required * 100).toFixed(1)}%` : null;
  return { count: n, passed: !failed, rates, reason, ms: Date.now() - started };
}
