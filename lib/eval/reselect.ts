// Re-choosing a trained bank honestly, without retraining: the labelled set is split into a
// validation half (even indices) and a test half (odd indices). Levels are kept only when
// no smaller level is as accurate on validation (the Pareto front), the exit's default
// threshold is chosen on validation, and the figures the manifest reports come from the
// test half. The units were trained on other images (the training set), so neither half
// has been seen by them; the choice never sees the test half.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime } from '../model/runtime';
import { loadBundle, sha256 } from '../model/bundle';
import type { Manifest } from '../model/manifest';
import { evaluate, EvalReport, LabelledSet } from './evaluate';

export interface ReselectReport {
  kept: { level: number; name: string }[];
  dropped: { level: number; name: string; dominatedBy: string }[];
  defaultThreshold: number | null;
  validation: EvalReport; test: EvalReport;
}

function half(set: LabelledSet, parity: 0 | 1): LabelledSet {
  const per = set.images.length / set.count;
  const idx = Array.from({ length: set.count }, (_, i) => i).filter((i) => i % 2 === parity);
  const images = new Uint8Array(idx.length * per);
  const labels = new Uint8Array(idx.length);
  idx.forEach((i, j) => { images.set(set.images.subarray(i * per, (i + 1) * per), j * per); labels[j] = set.labels[i]; });
  return { images, labels, count: idx.length };
}

/** Levels on the (coded bytes, accuracy) front of `r`, smallest first; the rest with the level that beats them. */
export function paretoLevels(r: EvalReport): { keep: number[]; dominated: Map<number, number> } {
  const order = [...r.rates].sort((a, b) => a.codedBytes - b.codedBytes || b.accuracy - a.accuracy);
  const keep: number[] = [];
  const dominated = new Map<number, number>();
  let best: (typeof order)[number] | null = null;
  for (const q of order) {
    if (best && q.accuracy <= best.accuracy) dominated.set(q.level, best.level);
    else { keep.push(q.level); best = q; }
  }
  return { keep, dominated };
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

export async function reselectBank(dir: string, set: LabelledSet, describe: string, tolerancePp = 0.1): Promise<ReselectReport> {
  const rt = await ModelRuntime.open(dir, { workers: 1 });
  let validation: EvalReport; let test: EvalReport;
  try {
    validation = await evaluate(rt, half(set, 0));
    test = await evaluate(rt, half(set, 1));
  } finally {
    await rt.close();
  }
  const m = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const { keep, dominated } = paretoLevels(validation);
  const names = m.rates.map((r) => r.name);
  const name = (l: number) => names[l];
  // the pipeline's rule, on validation: the lowest threshold within tolerance of unsplit
  const thr = validation.calibration.find((c) => (validation.unsplitAccuracy - c.accuracy) * 100 <= tolerancePp)?.threshold
    ?? validation.calibration[validation.calibration.length - 1]?.threshold ?? null;
  const byLevel = (r: EvalReport, l: number) => r.rates.find((q) => q.level === l)!;
  const files = new Set<string>();
  m.rates = keep.map((l, i) => {
    const v = byLevel(validation, l); const t = byLevel(test, l);
    files.add(m.rates[l].encoder.file); files.add(m.rates[l].decoder.file);
    return {
      ...m.rates[l], level: i,
      measured: { ...m.rates[l].measured, accuracy: r6(t.accuracy), idealBytes: r6(t.idealBytes), codedBytes: r6(t.codedBytes), accuracyDropPP: r6(t.dropPp), dataset: 'test half', codedOn: 'test half', validation: { accuracy: r6(v.accuracy), codedBytes: r6(v.codedBytes) } },
    };
  });
  for (const f of Object.keys(m.files)) {
    const unit = /^(enc|dec)\d+\.onnx$/.test(f);
    if (unit && !files.has(f)) { delete m.files[f]; await fs.rm(path.join(dir, f)); }
  }
  if (m.exit && thr !== null) {
    m.exit.defaultThreshold = thr;
    m.exit.calibration = validation.calibration.map((c) => ({ threshold: c.threshold, exitRate: r6(c.exitRate), exitAccuracy: r6(c.exitAccuracy), accuracy: r6(c.accuracy) }));
    Object.assign(m.exit, { dataset: 'validation half', test: test.calibration.map((c) => ({ threshold: c.threshold, exitRate: r6(c.exitRate), exitAccuracy: r6(c.exitAccuracy), accuracy: r6(c.accuracy) })) });
  }
  m.measured = {
    ...m.measured, unsplitAccuracy: r6(test.unsplitAccuracy), exitAccuracy: test.exitAccuracy === null ? undefined : r6(test.exitAccuracy),
    dataset: `${describe}: levels and exit threshold chosen on the validation half (even indices, ${validation.count}), figures on the test half (odd indices, ${test.count})`,
    reselectedBy: 'split-dnn eval --reselect',
  };
  delete (m.measured as Record<string, unknown>).sampleSet; // its levels are gone: re-run eval --update-manifest
  for (const f of Object.keys(m.files)) m.files[f] = sha256(await fs.readFile(path.join(dir, f)));
  await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  await loadBundle(dir); // still a valid bundle
  return {
    kept: keep.map((l) => ({ level: l, name: name(l) })),
    dropped: [...dominated].map(([l, by]) => ({ level: l, name: name(l), dominatedBy: name(by) })),
    defaultThreshold: thr, validation, test,
  };
}
