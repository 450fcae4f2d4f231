// The gate a new bundle passes before it serves a single frame: its own sample set runs
// through the whole split pipeline (head → every rate's encoder → integer coder → decoder
// → tail), and each rate must reach the accuracy its signed manifest claims, less a
// tolerance for the small sample. A bundle that errors, gives non-finite logits or
// collapses in accuracy is refused while the old one keeps running. A bundle whose task
// answers more than a class (placeholder sample labels) is held to the agreement its
// manifest claims instead: each rate's answers against head → tail without the coder.
import { ModelRuntime } from '../model/runtime';
import { readSamples } from '../model/samples';
import { preprocessPixels } from '../model/preprocess';
import { argmax } from '../exit/policy';
import { RateCodec } from '../codec/rate-codec';
import { Outputs, perSample, taskFor } from '../task';
import type { RateLevel } from '../model/manifest';

export interface SampleCheckOptions {
  /** Samples to run, at most (the first ones of the set). */
  limit?: number;
  /** Allowed shortfall from each rate's claimed accuracy. */
  tolerance?: number;
  /** Accuracy every rate must reach whatever the manifest claims; default twice chance. */
  minAccuracy?: number;
}

/** `accuracy` against the labels, or (with `measure`) the task's agreement with the uncoded split. */
export interface RateCheck { level: number; accuracy: number; required: number; passed: boolean; measure?: string }
export interface SampleCheckResult { count: number; passed: boolean; rates: RateCheck[]; reason: string | null; ms: number }

export async function sampleCheck(rt: ModelRuntime, opts: SampleCheckOptions = {}): Promise<SampleCheckResult> {
  const started = Date.now();
  const m = rt.manifest;
  const set = await readSamples(rt.bundle);
  const n = Math.min(set.count, opts.limit ?? 256);
  if (n === 0) throw new Error('the bundle has an empty sample set: nothing to check it with');
  const classes = m.labels.length;
  const floor = opts.minAccuracy ?? Math.min(1, 2 / classes);
  const tolerance = opts.tolerance ?? 0.05;
  const head = await rt.head(preprocessPixels(m, set.images.subarray(0, n * set.pixelsPerImage), n), n);
  const rates: RateCheck[] = [];
  const byTask = !set.labelled ? taskChecker(rt, head.features, n, tolerance) : null;
  for (const r of m.rates) {
    const codec = new RateCodec(r);
    const latent = await rt.encode(r.level, head.features, n);
    const per = latent.length / n;
    // The integer coder frame by frame, as bottleneck-encode and tail-infer do.
    const decoded = new Float32Array(latent.length);
    for (let i = 0; i < n; i++) decoded.set(codec.decode(codec.encode(latent.subarray(i * per, (i + 1) * per)).payload), i * per);
    const features = await rt.decode(r.level, decoded, n);
    if (byTask) {
      const check = await byTask(r, features);
      if (typeof check === 'string') return { count: n, passed: false, rates, reason: check, ms: Date.now() - started };
      rates.push(check);
      continue;
    }
    const logits = await rt.tail(features, n);
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
  const reason = !failed ? null : failed.measure === 'maxAbsError'
    ? `rate ${failed.level}: max abs error ${failed.accuracy.toExponential(2)} on ${n} samples, at most ${failed.required.toExponential(2)}`
    : `rate ${failed.level}: ${failed.measure ? `${failed.measure} agreement ` : ''}${(failed.accuracy * 100).toFixed(1)}% on ${n} samples, needs ${(failed.required * 100).toFixed(1)}%`;
  return { count: n, passed: !failed, rates, reason, ms: Date.now() - started };
}

/**
 * For a task without usable labels: a rate's tail outputs against head → tail without the
 * coder (which split verified is the original model), by the task's measure, held to what
 * the manifest claims for the rate (less `tolerance`; an error at most twice the claimed).
 * A string is why the bundle is refused outright.
 */
function taskChecker(rt: ModelRuntime, features: Float32Array, n: number, tolerance: number): (r: RateLevel, coded: Float32Array) => Promise<RateCheck | string> {
  const task = taskFor(rt.manifest);
  const finite = (outs: Outputs[]) => outs.findIndex((o) => !Object.values(o).every((t) => t.data.every(Number.isFinite)));
  const uncoded = rt.tailOutputs(features, n).then((o) => perSample(o, n));
  uncoded.catch(() => undefined); // awaited below; a failure surfaces there
  return async (r, coded) => {
    const split = perSample(await rt.tailOutputs(coded, n), n);
    const bad = finite(split);
    if (bad >= 0) return `rate ${r.level} gives non-finite outputs for sample ${bad}`;
    const got = task.agreement(await uncoded, split);
    const claimed = (r.measured?.agreement as { measure?: string; value?: number } | undefined)?.value;
    if (got.measure === 'maxAbsError') {
      const required = 2 * (claimed ?? Infinity) + 1e-6;
      return { level: r.level, accuracy: got.value, required, passed: got.value <= required, measure: got.measure };
    }
    const required = Math.max(0.5, (claimed ?? 0) - tolerance);
    return { level: r.level, accuracy: got.value, required, passed: got.value >= required, measure: got.measure };
  };
}
