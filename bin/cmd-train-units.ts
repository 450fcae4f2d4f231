// `split-dnn train-units --bundle DIR --images DIR [--out DIR] [--minutes M] [--quick]`
import * as path from 'node:path';
import { parseArgs } from './args';
import { trainUnits, Interrupted, ProgressBar, TrainUnitsReport } from '../lib/units';

const USAGE = `usage: split-dnn train-units --bundle DIR --images DIR [--out DIR] [options]

Trains learned bottleneck units (a bank of rate levels) and an early-exit branch for a
bundle written by split-dnn split, from a folder of UNLABELED images (PNG/JPEG, subfolders
included) that look like what the model will see. No labels and no PyTorch source are
needed: the original model's own answers are the teacher, and the frozen tail is run in
PyTorch from tail.onnx (checked against onnxruntime; a tail with an operator outside the
supported set falls back to feature-space distortion and says so).

The images are split train / validation / test by a hash of their path (recorded in the
manifest). Units are trained on train; the shipped bank is the validation Pareto front
(bytes against agreement, no dominated level, the split's 8-bit level included when it is
on the front); the exit's threshold table is made on validation; the figures printed and
stored under "test" come from the held-out test images through the real coder.

  --out DIR          write the new bundle there (default: replace --bundle in place, at the
                     very end; Ctrl-C at any time leaves the input bundle as it was)
  --minutes M        time budget for the whole run (default 20, --quick 4): epochs per unit
                     are fitted to it after timing a few training steps
  --quick            a small search (2 units): for CI and a first look
  --grid C:S:L:Q,..  units to try: channels, stride (1, 2, 4), rate weight lambda, quant step,
                     and optionally :W, that unit's own --feature-weight
  --epochs N         epochs per unit (an upper bound; --minutes may lower it)
  --views N          training views: the images plus N-1 shifted, mirrored, re-lit copies,
                     each labelled by the original model itself (default 8; 1 = no copies)
  --feature-weight W weight of the split tensor's reconstruction error beside the answer's
                     (default 1; 0 = the answer only)
  --val F --test F   fractions of images for validation and test (default 0.15 each)
  --limit N          use at most N images (the first N paths in sorted order)
  --exit-agreement A the default exit threshold is the lowest with overall agreement >= A
                     on validation (default 0.99)
  --seed N           split and initialisation seed (default 0)
  --python PATH      Python with torch and onnx (default /usr/bin/python3, or $SPLIT_DNN_PYTHON)
  --nice N           run the trainer at a lower priority
  --force            replace a non-empty --out
  --json             print the report as JSON`;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function summary(r: TrainUnitsReport): string {
  const lines = [`wrote ${r.bundle} (model id ${r.modelId}) in ${r.seconds.toFixed(0)} s`,
    `images: ${r.split.counts.train} train, ${r.split.counts.val} validation, ${r.split.counts.test} test`,
    r.conversion.fallback ? `note: ${r.conversion.fallback}` : `tail.onnx ran in PyTorch (max abs error vs onnxruntime ${Number(r.conversion.maxAbsError).toExponential(1)})`,
    `on the ${r.test.count} test images (agreement with the original model, real coded bytes):`];
  for (const q of r.test.rates) lines.push(`  level ${q.level} ${q.name.padEnd(12)} ${pct(q.agreement).padStart(7)}  ${q.codedBytes.toFixed(1).padStart(8)} B/frame`);
  const e = r.test.exitDefault;
  if (e) lines.push(`  exit at ${e.threshold}: ${pct(e.exitRate)} of frames exit (exit agreement ${pct(e.exitAgreement)}), overall ${pct(e.agreement)}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    bundle: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' }, minutes: { type: 'string' },
    quick: { type: 'boolean', default: false }, grid: { type: 'string' }, epochs: { type: 'string' }, views: { type: 'string' }, 'feature-weight': { type: 'string' },
    val: { type: 'string' }, test: { type: 'string' }, limit: { type: 'string' }, 'exit-agreement': { type: 'string' },
    seed: { type: 'string' }, python: { type: 'string' }, nice: { type: 'string' }, force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  }, USAGE);
  if (args.help) { console.log(USAGE); return 0; }
  for (const key of ['bundle', 'images'] as const) if (!args[key]) throw new Error(`--${key} is required\n\n${USAGE}`);
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupted: stopping the trainer, the input bundle stays as it was\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const bar = new ProgressBar(process.stderr);
  try {
    const report = await trainUnits({
      bundle: path.resolve(args.bundle!), images: path.resolve(args.images!), out: args.out && path.resolve(args.out),
      minutes: num(args.minutes), quick: args.quick, grid: args.grid, epochs: num(args.epochs), views: num(args.views), featureWeight: num(args['feature-weight']),
      valFraction: num(args.val), testFraction: num(args.test), limit: num(args.limit), exitAgreement: num(args['exit-agreement']),
      seed: num(args.seed), python: args.python, nice: num(args.nice), force: args.force,
      signal: controller.signal, onEvent: (e) => bar.handle(e),
      onLog: process.env.SPLIT_DNN_VERBOSE ? (line) => process.stderr.write(`${line}\n`) : undefined,
    });
    bar.finish();
    console.log(args.json ? JSON.stringify(report, null, 2) : summary(report));
    return 0;
  } catch (err) {
    bar.finish();
    if (controller.signal.aborted) { console.error(new Interrupted().message); return 130; }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
