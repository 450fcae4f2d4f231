// `split-dnn eval --bundle DIR [--json] [--data DIR] [--samples-only]`
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { parseArgs } from './args';
import { ModelRuntime } from '../lib/model/runtime';
import { readSamples } from '../lib/model/samples';
import { evaluate, EvalReport } from '../lib/eval/evaluate';
import { readFashionMnistTest, DEFAULT_FASHION_MNIST } from '../lib/eval/idx';
import { reselectBank } from '../lib/eval/reselect';

const USAGE = `usage: split-dnn eval --bundle DIR [--json] [--data DIR] [--samples-only]

Re-measures a bundle from its ONNX files: unsplit accuracy, exit calibration, and each
rate level's accuracy and coded bytes per frame, on the bundle's sample set and on the
Fashion-MNIST test set when it is installed (default ${DEFAULT_FASHION_MNIST}).

--update-manifest records the coded bytes per rate and the figures on the sample set
(first 500 and all samples) in the bundle's manifest, for tests and the dashboard.

--reselect re-chooses a trained bank without retraining: the Fashion-MNIST test set is
split into a validation half (even indices) and a test half (odd indices); levels that a
smaller level matches on validation are removed (with their ONNX files), the exit's
default threshold is chosen on validation, and the manifest's figures come from the test
half. Then the sample-set figures are recorded as with --update-manifest.`;

const compact = (r: EvalReport) => ({
  count: r.count, unsplitAccuracy: r.unsplitAccuracy, exitAccuracy: r.exitAccuracy, calibration: r.calibration,
  rates: r.rates.map(({ level, accuracy, codedBytes, pipeline }) => ({ level, accuracy, codedBytes, pipeline })),
});

/** Writes what the real coder measured into manifest.json (the model id changes with it);
 *  with `codedBytes` false only the sample-set figures (after --reselect, which wrote its own). */
async function updateManifest(rt: ModelRuntime, report: Record<string, unknown>, codedBytes = true): Promise<void> {
  const file = path.join(rt.bundle.dir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(file, 'utf8'));
  const samples = await readSamples(rt.bundle);
  const first = Math.min(500, samples.count);
  const head = await evaluate(rt, { images: samples.images.subarray(0, first * samples.pixelsPerImage), labels: samples.labels.subarray(0, first), count: first });
  const all = report.samples as EvalReport;
  const test = report.test && !('skipped' in (report.test as object)) ? (report.test as EvalReport) : null;
  for (const r of codedBytes ? (test ?? all).rates : []) {
    manifest.rates[r.level].measured = { ...manifest.rates[r.level].measured, codedBytes: r.codedBytes, codedOn: test ? 'fashion-mnist-test-10k' : 'sample-set' };
  }
  manifest.measured = { ...manifest.measured, sampleSet: [compact(head), compact(all)], evaluatedBy: 'split-dnn eval --update-manifest' };
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

function summary(report: Record<string, unknown>): string {
  const lines = [`${report.name} ${report.version} (model id ${report.modelId})`];
  for (const key of ['samples', 'test']) {
    const r = report[key] as EvalReport | { skipped: string } | undefined;
    if (!r) continue;
    if ('skipped' in r) { lines.push(`${key}: skipped, ${r.skipped}`); continue; }
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
  }, USAGE);
  if (args.help) { console.log(USAGE); return 0; }
  const started = Date.now();
  if (args.reselect) await reselect(path.resolve(String(args.bundle)), String(args.data), !!args.json);
  const rt = await ModelRuntime.open(path.resolve(String(args.bundle)));
  try {
    const report: Record<string, unknown> = { bundle: rt.bundle.dir, name: rt.manifest.name, version: rt.manifest.version, modelId: rt.modelId };
    report.samples = await evaluate(rt, await readSamples(rt.bundle));
    if (!args['samples-only']) {
      const test = await readFashionMnistTest(String(args.data));
      report.test = test ? await evaluate(rt, test) : { skipped: `no Fashion-MNIST test set in ${args.data}` };
    }
    if (args['update-manifest'] || args.reselect) await updateManifest(rt, report, !args.reselect);
    report.seconds = (Date.now() - started) / 1000;
    console.log(args.json ? JSON.stringify(report, null, 2) : summary(report));
    return 0;
  } finally {
    await rt.close();
  }
}
