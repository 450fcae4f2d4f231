// `split-dnn eval --bundle DIR [--images DIR [--labels FILE]] [--json] [--data DIR] [--samples-only]`
import { exitOutcomes, exitRisk } from '../lib/eval/exit-risk';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { parseArgs } from './args';
import { ModelRuntime } from '../lib/model/runtime';
import type { ExitRisk, Manifest } from '../lib/model/manifest';
import { readSamples } from '../lib/model/samples';
import { preprocessPixels } from '../lib/model/preprocess';
import { evaluate, EvalReport } from '../lib/eval/evaluate';
import { evaluateTask, TaskEvalReport } from '../lib/eval/task-eval';
import { readFashionMnistTest, DEFAULT_FASHION_MNIST } from '../lib/eval/idx';
import { reselectBank } from '../lib/eval/reselect';
import { readImageFolder } from '../lib/split/image-folder';

const USAGE = `usage: split-dnn eval --bundle DIR [--images DIR [--labels FILE] [--limit N]] [--json] [--data DIR] [--samples-only]

Re-measures a bundle from its ONNX files, for its task (classification, multilabel,
detection, tensors): each rate level's agreement with the unsplit model (top-1, sigmoid
decisions, boxes matched at IoU 0.5, max abs error), accuracy where labels are known, and
coded bytes per frame.

  --images DIR     held-out PNG/JPEG images (not the ones the bundle was calibrated on),
                   prepared as the manifest says (resize, colour, layout, scale/mean/std)
  --labels FILE    their labels: lines "<image> <label>[,<label>…]" (class names or indices);
                   or put the images in one subfolder per class
  --limit N        use at most N images
  --verbose        show onnxruntime's own log

Without --images: the bundle's sample set, and for a classifier of 1×28×28 images with 10
classes, the Fashion-MNIST test set when it is installed (default ${DEFAULT_FASHION_MNIST}).

--update-manifest records the coded bytes per rate and the figures (each with the set it
comes from) in the bundle's manifest, for tests and the dashboard.

--reselect re-chooses a trained Fashion-MNIST bank without retraining: the test set is
split into a validation half (even indices) and a test half (odd indices); levels that a
smaller level matches on validation are removed (with their ONNX files), the exit's
default threshold is chosen on validation, and the manifest's figures come from the test
half. Then the sample-set figures are recorded as with --update-manifest.`;

/** Fashion-MNIST's test set only means something for a 10-class classifier of 1×28×28 frames. */
function fashionMnistFits(m: Manifest): string | null {
  const s = m.input.source;
  if ((m.task?.kind ?? 'classification') !== 'classification') return `the bundle's task is ${m.task!.kind}`;
  if (s.channels !== 1 || s.height !== 28 || s.width !== 28) return `the bundle's input is ${s.channels}×${s.height}×${s.width}, not Fashion-MNIST's 1×28×28: measure with --images DIR`;
  if (m.labels.length !== 10) return `the bundle has ${m.labels.length} classes, Fashion-MNIST 10`;
  return null;
}

async function heldOut(rt: ModelRuntime, dir: string, labelsFile: string | undefined, limit: number | undefined): Promise<TaskEvalReport> {
  const m = rt.manifest;
  const set = await readImageFolder(dir, m, { labelsFile, limit, classNames: m.labels });
  return evaluateTask(rt, preprocessPixels(m, set.frames, set.count), set.count, set.labels, `held-out: ${set.count} images from ${path.resolve(dir)}`);
}

const compact = (r: EvalReport) => ({
  count: r.count, unsplitAccuracy: r.unsplitAccuracy, exitAccuracy: r.exitAccuracy, calibration: r.calibration,
  rates: r.rates.map(({ level, accuracy, codedBytes, pipeline }) => ({ level, accuracy, codedBytes, pipeline })),
});

/** Writes what the real coder measured into manifest.json (the model id changes with it);
 *  with `codedBytes` false only the sample-set figures (after --reselect, which wrote its own). */
async function updateManifest(rt: ModelRuntime, report: Record<string, unknown>, codedBytes = true): Promise<void> {
  const file = path.join(rt.bundle.dir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8'));
  const held = report.heldOut as TaskEvalReport | undefined;
  if (held) {
    for (const r of held.rates) manifest.rates[r.level].measured = { ...manifest.rates[r.level].measured, heldOut: { dataset: held.dataset, ...r } };
    manifest.measured = { ...manifest.measured, heldOut: { dataset: held.dataset, count: held.count, task: held.task, unsplitAccuracy: held.unsplitAccuracy }, evaluatedBy: 'split-dnn eval --images --update-manifest' };
  }
  if (!(report.samples as EvalReport | undefined)?.rates?.[0]?.pipeline) {
    await fs.writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    return;
  }
  const samples = await readSamples(rt.bundle);
  const first = Math.min(500, samples.count);
  const head = await evaluate(rt, { images: samples.images.subarray(0, first * samples.pixelsPerImage), labels: samples.labels.subarray(0, first), count: first });
  const all = report.samples as EvalReport;
  const test = report.test && !('skipped' in (report.test as object)) ? (report.test as EvalReport) : null;
  for (const r of codedBytes ? (test ?? all).rates : []) {
    manifest.rates[r.level].measured = { ...manifest.rates[r.level].measured, codedBytes: r.codedBytes, codedOn: test ? 'fashion-mnist-test-10k' : 'sample-set' };
  }
  manifest.measured = { ...manifest.measured, sampleSet: [compact(head), compact(all)], evaluatedBy: 'split-dnn eval --update-manifest' };
  const risk = report.exitRisk as ExitRisk | undefined;
  if (risk && manifest.exit) manifest.exit.risk = risk;
  await fs.writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

async function reselect(dir: string, data: string, json: boolean): Promise<void> {
  const set = await readFashionMnistTest(data);
  if (!set) throw new Error(`--reselect needs the Fashion-MNIST test set in ${data}`);
  const r = await reselectBank(dir, set, 'fashion-mnist-test-10k');
  if (json) return;
  console.log(`reselected on the validation half: kept ${r.kept.map((k) => k.name).join(', ')}; dropped ${r.dropped.map((d) => `${d.name} (matched by ${d.dominatedBy})`).join(', ') || 'none'}; exit threshold ${r.defaultThreshold}`);
}

function taskSummary(key: string, r: TaskEvalReport): string[] {
  const acc = r.unsplitAccuracy === null ? '' : `, unsplit accuracy ${pct(r.unsplitAccuracy)}`;
  return [`${key}: ${r.dataset} (task ${r.task}${acc})`, ...r.rates.map((q) => `  rate ${q.level} ${q.name}: ${q.agreement.measure === 'maxAbsError' ? '' : `${q.agreement.measure} agreement ${pct(q.agreement.value)}, `}` +
    `max abs error ${q.maxAbsError.toExponential(2)}${q.accuracy === null ? '' : `, accuracy ${pct(q.accuracy)}`}, ${q.codedBytes.toFixed(1)} B/frame (ideal ${q.idealBytes.toFixed(1)})`)];
}

function summary(report: Record<string, unknown>): string {
  const lines = [`${report.name} ${report.version} (model id ${report.modelId})`];
  for (const key of ['heldOut', 'samples', 'test']) {
    const r = report[key] as EvalReport | TaskEvalReport | { skipped: string } | undefined;
    if (!r) continue;
    if ('skipped' in r) { lines.push(`${key}: skipped, ${r.skipped}`); continue; }
    if ('task' in r) { lines.push(...taskSummary(key, r)); continue; }
    lines.push(`${key} (${r.count} images): unsplit ${pct(r.unsplitAccuracy)}, exit branch ${r.exitAccuracy === null ? 'none' : pct(r.exitAccuracy)}`);
    for (const c of r.calibration) lines.push(`  exit at ${c.threshold}: ${pct(c.exitRate)} exit, accuracy ${pct(c.accuracy)}`);
    for (const q of r.rates) lines.push(`  rate ${q.level} ${q.name}: ${pct(q.accuracy)} (${q.dropPp >= 0 ? '-' : '+'}${Math.abs(q.dropPp).toFixed(2)} pp), ${q.codedBytes.toFixed(1)} B/frame (ideal ${q.idealBytes.toFixed(1)})`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    bundle: { type: 'string', default: 'models/fmnist-cnn' },
    json: { type: 'boolean', default: false },
    data: { type: 'string', default: DEFAULT_FASHION_MNIST },
    'samples-only': { type: 'boolean', default: false },
    'update-manifest': { type: 'boolean', default: false },
    reselect: { type: 'boolean', default: false },
    images: { type: 'string' }, labels: { type: 'string' }, limit: { type: 'string' }, verbose: { type: 'boolean', default: false },
  }, USAGE);
  if (args.help) { console.log(USAGE); return 0; }
  const started = Date.now();
  if (args.reselect) await reselect(path.resolve(String(args.bundle)), String(args.data), !!args.json);
  const rt = await ModelRuntime.open(path.resolve(String(args.bundle)), { ortLogSeverity: args.verbose ? 0 : 3 });
  try {
    const report: Record<string, unknown> = { bundle: rt.bundle.dir, name: rt.manifest.name, version: rt.manifest.version, modelId: rt.modelId };
    const classifier = (rt.manifest.task?.kind ?? 'classification') === 'classification';
    if (args.images) {
      report.heldOut = await heldOut(rt, args.images, args.labels, args.limit === undefined ? undefined : Number(args.limit));
    } else if (rt.manifest.samples) {
      const samples = await readSamples(rt.bundle);
      report.samples = classifier ? await evaluate(rt, samples)
        : await evaluateTask(rt, preprocessPixels(rt.manifest, samples.images, samples.count), samples.count, null, `sample set: ${samples.count} samples of the bundle`);
    } else {
      report.samples = { skipped: 'the bundle has no sample set: measure with --images DIR' };
    }
    if (!args['samples-only'] && !args.images) {
      const unfit = fashionMnistFits(rt.manifest);
      const test = unfit ? null : await readFashionMnistTest(String(args.data));
      report.test = test ? await evaluate(rt, test) : { skipped: unfit ?? `no Fashion-MNIST test set in ${args.data}` };
      // The exit promise is calibrated on the first half of the test set (the validation
      // half, as --reselect uses it); the bench reports on the other half.
      if (test && rt.manifest.head.exitLogits) {
        const half = Math.floor(test.count / 2);
        const per = test.images.length / test.count;
        report.exitRisk = exitRisk(await exitOutcomes(rt, test.images.subarray(0, half * per), half), test.labels.subarray(0, half), `fashion-mnist-test-10k, first ${half} (validation half)`);
      }
    }
    if (args['update-manifest'] || args.reselect) await updateManifest(rt, report, !args.reselect);
    report.seconds = (Date.now() - started) / 1000;
    console.log(args.json ? JSON.stringify(report, null, 2) : summary(report));
    return 0;
  } finally {
    await rt.close();
  }
}
