/**
 * `npm run bench -- rate --json [--bundle DIR] [--limit N] [--plot FILE.svg]`
 * Bytes per frame against accuracy for every way of getting an image's answer out of the
 * gateway, measured on the Fashion-MNIST test set (the bundle's samples when it is not
 * installed): each rate level's unit alone; the pipeline with the early exit at each
 * calibrated threshold (bytes per input, exits sending nothing); and the whole image as
 * raw pixels, PNG and WebP at several qualities (sharp), decoded and run through the whole
 * model, as an offloading gateway would. --plot writes the figure (docs/rate-accuracy.svg).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime, preprocessPixels, readSamples } from '../lib/model';
import { evaluate, LabelledSet } from '../lib/eval/evaluate';
import { readFashionMnistTest } from '../lib/eval/idx';
import { argmax } from '../lib/exit/policy';
import { decodeImage, encodeImage } from './image-codecs';
import { plotRateAccuracy, RatePoint } from './rate-plot';
import { flag } from './flags';

const SHIPPED_BUNDLE = path.resolve(__dirname, '..', '..', 'models', 'fmnist-cnn');
const WEBP_QUALITIES = [10, 25, 50, 75, 90];

/** Accuracy of the whole model (head + tail) on images after a codec's round trip. */
async function offloaded(rt: ModelRuntime, set: LabelledSet, codec: 'png' | 'webp', quality = 75): Promise<{ bytes: number; accuracy: number }> {
  const m = rt.manifest;
  const src = m.input.source;
  const per = src.width * src.height * src.channels;
  const size = { width: src.width, height: src.height, channels: src.channels as 1 | 3 };
  const classes = m.labels.length;
  let bytes = 0;
  let correct = 0;
  const batch = 250;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const pixels = new Uint8Array(n * per);
    for (let i = 0; i < n; i++) {
      const coded = await encodeImage(set.images.subarray((start + i) * per, (start + i + 1) * per), size, codec, quality);
      bytes += coded.length;
      pixels.set(await decodeImage(coded, size.channels), i * per);
    }
    const { features } = await rt.head(preprocessPixels(m, pixels, n), n);
    const logits = await rt.tail(features, n);
    for (let i = 0; i < n; i++) if (argmax(logits, i * classes, classes) === set.labels[start + i]) correct++;
  }
  return { bytes: bytes / set.count, accuracy: correct / set.count };
}

export async function run(args: string[]): Promise<unknown> {
  const rt = await ModelRuntime.open(flag(args, 'bundle') ?? SHIPPED_BUNDLE);
  try {
    const test = await readFashionMnistTest();
    const full: LabelledSet = test ?? await readSamples(rt.bundle);
    const limit = Math.min(Number(flag(args, 'limit') ?? full.count), full.count);
    const per = full.images.length / full.count;
    const set: LabelledSet = { images: full.images.subarray(0, limit * per), labels: full.labels.subarray(0, limit), count: limit };
    const report = await evaluate(rt, set);
    const points: RatePoint[] = [];
    points.push({ kind: 'raw', label: 'raw pixels', bytes: per, accuracy: report.unsplitAccuracy });
    const splitFloats = rt.manifest.split.shape.reduce((a, b) => a * b, 1);
    points.push({ kind: 'float32', label: 'split tensor, float32', bytes: 4 * splitFloats, accuracy: report.unsplitAccuracy });
    for (const r of report.rates) points.push({ kind: 'unit', label: `level ${r.level} ${r.name}`, bytes: r.codedBytes, accuracy: r.accuracy });
    // The exit sweep on the middle level: exits send nothing, the rest go through its unit.
    const mid = report.rates[Math.floor(report.rates.length / 2)];
    for (const p of mid.sweep) points.push({ kind: 'exit', label: `exit ≥ ${p.threshold}, level ${mid.level}`, bytes: p.bytesPerInput, accuracy: p.accuracy });
    const png = await offloaded(rt, set, 'png');
    points.push({ kind: 'png', label: 'PNG', ...png });
    for (const q of WEBP_QUALITIES) points.push({ kind: 'webp', label: `WebP q${q}`, ...await offloaded(rt, set, 'webp', q) });
    const plot = flag(args, 'plot');
    if (plot) fs.writeFileSync(plot, plotRateAccuracy(points, `${rt.manifest.name} on ${set.count} test images`));
    return {
      bench: 'rate', bundle: `${rt.manifest.name} ${rt.manifest.version} (${rt.modelId})`, images: set.count,
      dataset: test ? 'fashion-mnist test set' : 'bundle sample set', unsplitAccuracy: report.unsplitAccuracy,
      pipelineMeasured: report.rates.map((r) => ({ level: r.level, ...r.pipeline })),
      points,
    };
  } finally {
    await rt.close();
  }
}
