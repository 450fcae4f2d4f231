// `split-dnn train-units`: learned bottleneck units and an early exit for a bundle written
// by `split-dnn split`, from a folder of unlabeled images. The images are split
// train / validation / test; onnxruntime runs the bundle's head and tail on them (the
// original model's answers are the teacher); models/train/byom trains the units and the
// exit on train, chooses on validation; this file measures the finished bundle on test
// with the real coder. Everything is written to a temporary folder next to the
// destination and renamed into place at the end, so an interrupted run leaves the input
// bundle exactly as it was.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadBundle } from '../model/bundle';
import { ModelRuntime } from '../model/runtime';
import type { Manifest, RateLevel } from '../model/manifest';
import { evaluate, EvalReport } from '../eval/evaluate';
import { argmax } from '../exit/policy';
import { listImages, splitImages, readFrames, ImageSplit } from './images';
import { preprocessPixels } from '../model/preprocess';
import { writeNpy } from './npy';
import { runTrainer, TrainerResult } from './trainer-process';
import type { ProgressEvent } from './progress';
import { measuredOnTest, TestFigures } from './test-figures';
import { augmentFrames } from './augment';

export interface TrainUnitsOptions {
  bundle: string;
  images: string;
  /** Destination; default: replace the input bundle (atomically, at the end). */
  out?: string;
  minutes?: number;
  quick?: boolean;
  seed?: number;
  /** "C:S:LAMBDA:STEP,..." */
  grid?: string;
  epochs?: number;
  valFraction?: number;
  testFraction?: number;
  /** Images used at most (the first N of the sorted list). */
  limit?: number;
  exitAgreement?: number;
  /** Training views: the clean frames plus views-1 changed copies (augment.ts); default 8. */
  views?: number;
  /** Weight of the split tensor's MSE beside the distillation loss (default 1). */
  featureWeight?: number;
  python?: string;
  threads?: number;
  /** Scheduling priority for the trainer process (os.setPriority). */
  nice?: number;
  force?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: ProgressEvent) => void;
  onLog?: (line: string) => void;
}

export interface TrainUnitsReport {
  bundle: string; modelId: string;
  split: ImageSplit['record'];
  conversion: TrainerResult['conversion'];
  test: TestFigures;
  seconds: number;
}

export class Interrupted extends Error {
  constructor() { super('interrupted: the input bundle was left as it was'); this.name = 'Interrupted'; }
}

const BATCH = 64;

interface Originals { features: Float32Array; logits: Float32Array }

/** The original model's split tensor and answers for n frames (onnxruntime, head then tail). */
async function original(rt: ModelRuntime, frames: Uint8Array, n: number, tick: (done: number) => void): Promise<Originals> {
  const m = rt.manifest;
  const per = m.input.source.channels * m.input.source.height * m.input.source.width;
  const split = m.split.shape.reduce((a, b) => a * b, 1);
  const k = m.labels.length;
  const features = new Float32Array(n * split);
  const logits = new Float32Array(n * k);
  for (let s = 0; s < n; s += BATCH) {
    const b = Math.min(BATCH, n - s);
    const head = await rt.head(preprocessPixels(m, frames.subarray(s * per, (s + b) * per), b), b);
    features.set(head.features, s * split);
    logits.set(await rt.tail(head.features, b), s * k);
    tick(s + b);
  }
  return { features, logits };
}

const answers = (logits: Float32Array, k: number) => Int32Array.from({ length: logits.length / k }, (_, i) => argmax(logits, i * k, k));

/** The files a bundle's manifest names (what the copy carries; learned units are retrained). */
function keptFiles(m: Manifest, fixed: RateLevel[]): string[] {
  const files = [m.head.file, m.tail.file, ...fixed.flatMap((r) => [r.encoder.file, r.decoder.file])];
  if (m.samples) files.push(m.samples.images, m.samples.labels);
  return [...new Set(files)];
}

/** Levels that came with the split (no learned unit): kept, and compared with the new units. */
const isFixed = (r: RateLevel) => r.unit === undefined;

async function swapIntoPlace(tmp: string, dest: string, replacing: boolean): Promise<void> {
  if (!replacing) { await fs.rename(tmp, dest); return; }
  const old = `${dest}.old-${process.pid}`;
  await fs.rename(dest, old);
  await fs.rename(tmp, dest);
  await fs.rm(old, { recursive: true, force: true });
}

export async function trainUnits(opts: TrainUnitsOptions): Promise<TrainUnitsReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {});
  const src = path.resolve(opts.bundle);
  const dest = path.resolve(opts.out ?? opts.bundle);
  const replacing = dest === src;
  if (!replacing && (await fs.readdir(dest).catch(() => null))?.length) {
    if (!opts.force) throw new Error(`${dest} exists and is not empty (pass --force to replace it, or leave out --out to update ${src} in place)`);
  }
  const input = await loadBundle(src);
  const m = input.manifest;
  const kind = m.task?.kind ?? 'classification';
  if (kind !== 'classification') throw new Error(`train-units trains units for classifiers (distillation on the logits); this bundle's task is ${kind}`);
  if (m.split.shape.length !== 3) throw new Error(`the split tensor is [${m.split.shape}]: units need a [C, H, W] tensor per sample`);
  const files = (await listImages(opts.images)).slice(0, opts.limit ?? Infinity);
  if (files.length < 20) throw new Error(`${opts.images}: ${files.length} PNG/JPEG images; train-units needs at least 20 (a few hundred to a few thousand is typical)`);
  const split = splitImages(files, { val: opts.valFraction ?? 0.15, test: opts.testFraction ?? 0.15 }, opts.seed ?? 0);
  for (const part of ['train', 'val', 'test'] as const) {
    if (split[part].length < 5) throw new Error(`only ${split[part].length} images fall into the ${part} set; give more images`);
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'split-dnn-train-units-'));
  const tmp = `${dest}.train-units-${process.pid}.tmp`;
  const check = () => { if (opts.signal?.aborted) throw new Interrupted(); };
  let rtIn: ModelRuntime | null = null;
  try {
    await fs.rm(tmp, { recursive: true, force: true });
    const frames: Record<string, Uint8Array> = {};
    emit({ event: 'stage', stage: 'images', label: `${files.length} images` });
    let decoded = 0;
    for (const part of ['train', 'val', 'test'] as const) {
      frames[part] = await readFrames(m, opts.images, split[part], () => {
        decoded++;
        if (decoded % 50 === 0) emit({ event: 'progress', stage: 'images', done: decoded, total: files.length, label: part });
        check();
      });
    }
    emit({ event: 'stage', stage: 'features', label: 'head + tail in onnxruntime' });
    rtIn = await ModelRuntime.open(src, { workers: 1 });
    const orig: Record<string, Originals> = {};
    const views = Math.max(1, Math.floor(opts.views ?? 8));
    const total = files.length + (views - 1) * split.train.length;
    let done = 0;
    const run = async (part: string, pixels: Uint8Array, n: number): Promise<Originals> => {
      const base = done;
      const out = await original(rtIn!, pixels, n, (d) => {
        emit({ event: 'progress', stage: 'features', done: base + d, total, label: part });
        check();
      });
      done += n;
      return out;
    };
    for (const part of ['train', 'val', 'test'] as const) orig[part] = await run(part, frames[part], split[part].length);
    // each changed view goes to disk at once, so memory holds one view at a time
    const trainViews: { features: string; teacher: string }[] = [];
    for (let v = 1; v < views; v++) {
      const o = await run(`train view ${v + 1}`, augmentFrames(frames.train, split.train.length, m.input.source, opts.seed ?? 0, v), split.train.length);
      const f = { features: path.join(work, `train.view${v}.features.npy`), teacher: path.join(work, `train.view${v}.teacher.npy`) };
      await writeNpy(f.features, o.features, [split.train.length, ...m.split.shape]);
      await writeNpy(f.teacher, o.logits, [split.train.length, m.labels.length]);
      trainViews.push(f);
    }
    const k = m.labels.length;
    const fixed = m.rates.filter(isFixed);
    // the split's own levels on validation, to compare with the units on the same images
    const valAnswers = answers(orig.val.logits, k);
    const fixedVal = fixed.length ? await evaluate(rtIn, { images: frames.val, labels: valAnswers, count: split.val.length }, []) : null;
    await rtIn.close();
    rtIn = null;
    check();

    await fs.mkdir(tmp, { recursive: true });
    for (const f of keptFiles(m, fixed)) {
      await fs.mkdir(path.dirname(path.join(tmp, f)), { recursive: true });
      await fs.copyFile(input.file(f), path.join(tmp, f));
    }
    const npy: Record<string, Record<string, string>> = { features: {}, teacher: {} };
    for (const part of ['train', 'val'] as const) {
      const n = split[part].length;
      npy.features[part] = path.join(work, `${part}.features.npy`);
      npy.teacher[part] = path.join(work, `${part}.teacher.npy`);
      await writeNpy(npy.features[part], orig[part].features, [n, ...m.split.shape]);
      await writeNpy(npy.teacher[part], orig[part].logits, [n, k]);
    }
    const manifestIn: Manifest = { ...m, rates: fixed.map((r, i) => ({ ...r, level: i })) };
    const job = {
      bundle: src, out: tmp, manifest: manifestIn, ...npy, views: trainViews, result: path.join(work, 'result.json'),
      quick: !!opts.quick, minutes: opts.minutes ?? (opts.quick ? 4 : 20), seed: opts.seed ?? 0, grid: opts.grid, epochs: opts.epochs,
      threads: opts.threads ?? 2, featureWeight: opts.featureWeight, exitAgreement: opts.exitAgreement ?? 0.99, elapsedSeconds: (Date.now() - started) / 1000,
      images: { dir: opts.images, count: files.length }, split: split.record,
      fixedLevels: fixed.map((r, i) => ({ name: r.name, accuracy: fixedVal!.rates[r.level].accuracy, idealBytes: fixedVal!.rates[r.level].idealBytes, entry: manifestIn.rates[i] })),
    };
    await fs.writeFile(path.join(work, 'job.json'), JSON.stringify(job));
    const result = await runTrainer(path.join(work, 'job.json'), job.result, { python: opts.python, nice: opts.nice, signal: opts.signal, onEvent: emit, onLog: opts.onLog });
    check();

    emit({ event: 'stage', stage: 'test', label: `${split.test.length} held-out images, real coder` });
    const test = await measuredOnTest(tmp, frames.test, answers(orig.test.logits, k), split.test.length, (mm) => ({
      ...mm,
      measured: { ...(mm.measured ?? {}), dataset: `units and thresholds chosen on validation (${split.val.length} images); figures under "test" on ${split.test.length} held-out images of ${opts.images}; agreement = top-1 equal to the original model's`, conversion: result.conversion },
    }));
    check();
    const bundle = await loadBundle(tmp);
    emit({ event: 'stage', stage: 'write', label: dest });
    if (!replacing) await fs.rm(dest, { recursive: true, force: true });
    await swapIntoPlace(tmp, dest, replacing);
    emit({ event: 'done' });
    return { bundle: dest, modelId: bundle.modelId, split: split.record, conversion: result.conversion, test, seconds: (Date.now() - started) / 1000 };
  } finally {
    await rtIn?.close();
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

export type { EvalReport };
