// Re-measures a bundle from its ONNX files alone: unsplit and exit accuracy, the exit
// calibration, and each rate's accuracy and real coded bytes per frame.
import { ModelRuntime } from '../model/runtime';
import { preprocessPixels, pixelsPerFrame } from '../model/preprocess';
import { argmax, confidence } from '../exit/policy';
import { RateCodec } from '../codec/rate-codec';

export interface LabelledSet { images: Uint8Array; labels: Uint8Array | Int32Array; count: number }

export interface RateReport {
  level: number; name: string; accuracy: number; dropPp: number;
  codedBytes: number; idealBytes: number; codedOverIdeal: number; symbolsPerFrame: number;
  /** The whole edge pipeline: exit at the default threshold, the rest through this rate. */
  pipeline: PipelinePoint;
  /** The same at each calibration threshold. */
  sweep: PipelinePoint[];
}

export interface PipelinePoint { threshold: number; exitRate: number; accuracy: number; bytesPerInput: number }

export interface EvalReport {
  count: number;
  unsplitAccuracy: number;
  exitAccuracy: number | null;
  calibration: { threshold: number; exitRate: number; exitAccuracy: number; accuracy: number }[];
  rates: RateReport[];
}

const BATCH = 256;

async function inBatches(count: number, fn: (start: number, n: number) => Promise<void>): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (let start = 0; start < count; start += BATCH) jobs.push(fn(start, Math.min(BATCH, count - start)));
  await Promise.all(jobs);
}

export async function evaluate(rt: ModelRuntime, set: LabelledSet, thresholds?: number[]): Promise<EvalReport> {
  const m = rt.manifest;
  const classes = m.labels.length;
  const per = pixelsPerFrame(m);
  const splitSize = m.split.shape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(set.count * splitSize);
  const tailPred = new Int32Array(set.count);
  const exitPred = new Int32Array(set.count);
  const exitConf = new Float64Array(set.count);
  let hasExit = false;

  await inBatches(set.count, async (start, n) => {
    const input = preprocessPixels(m, set.images.subarray(start * per, (start + n) * per), n);
    const head = await rt.head(input, n);
    features.set(head.features, start * splitSize);
    const logits = await rt.tail(head.features, n);
    for (let i = 0; i < n; i++) tailPred[start + i] = argmax(logits, i * classes, classes);
    if (head.exitLogits) {
      hasExit = true;
      for (let i = 0; i < n; i++) {
        const c = confidence(head.exitLogits, i * classes, classes, m.exit?.confidence ?? 'max_softmax');
        exitPred[start + i] = c.index;
        exitConf[start + i] = c.confidence;
      }
    }
  });

  const correct = (pred: Int32Array) => pred.reduce((n, p, i) => n + (p === set.labels[i] ? 1 : 0), 0);
  const unsplitAccuracy = correct(tailPred) / set.count;

  const calibration = (hasExit ? thresholds ?? m.exit?.calibration.map((p) => p.threshold) ?? [] : []).map((threshold) => {
    let exits = 0; let exitRight = 0; let right = 0;
    for (let i = 0; i < set.count; i++) {
      const exit = exitConf[i] >= threshold;
      const pred = exit ? exitPred[i] : tailPred[i];
      if (exit) { exits++; if (pred === set.labels[i]) exitRight++; }
      if (pred === set.labels[i]) right++;
    }
    return { threshold, exitRate: exits / set.count, exitAccuracy: exits ? exitRight / exits : 1, accuracy: right / set.count };
  });

  const rates: RateReport[] = [];
  for (const r of m.rates) {
    const codec = new RateCodec(r);
    let bytes = 0; let ideal = 0; let right = 0;
    const ratePred = new Int32Array(set.count);
    const frameBytes = new Int32Array(set.count);
    await inBatches(set.count, async (start, n) => {
      const latent = await rt.encode(r.level, features.subarray(start * splitSize, (start + n) * splitSize), n);
      const restored = new Float32Array(latent.length);
      for (let i = 0; i < n; i++) {
        const one = latent.subarray(i * codec.symbolCount, (i + 1) * codec.symbolCount);
        const coded = codec.encode(one);
        bytes += coded.payload.length;
        frameBytes[start + i] = coded.payload.length;
        ideal += coded.idealBits / 8;
        restored.set(codec.decode(coded.payload), i * codec.symbolCount);
      }
      const logits = await rt.tail(await rt.decode(r.level, restored, n), n);
      for (let i = 0; i < n; i++) {
        ratePred[start + i] = argmax(logits, i * classes, classes);
        if (ratePred[start + i] === set.labels[start + i]) right++;
      }
    });
    const accuracy = right / set.count;
    const pipelineAt = (threshold: number): PipelinePoint => {
      let exits = 0; let pipeRight = 0; let sent = 0;
      for (let i = 0; i < set.count; i++) {
        const exit = exitConf[i] >= threshold;
        if (exit) exits++;
        else sent += frameBytes[i];
        if ((exit ? exitPred[i] : ratePred[i]) === set.labels[i]) pipeRight++;
      }
      return { threshold, exitRate: exits / set.count, accuracy: pipeRight / set.count, bytesPerInput: sent / set.count };
    };
    rates.push({
      level: r.level, name: r.name, accuracy, dropPp: (unsplitAccuracy - accuracy) * 100,
      codedBytes: bytes / set.count, idealBytes: ideal / set.count, codedOverIdeal: bytes / ideal,
      symbolsPerFrame: codec.symbolCount,
      pipeline: pipelineAt(hasExit ? m.exit?.defaultThreshold ?? 0.8 : Number.POSITIVE_INFINITY),
      sweep: calibration.map((c) => pipelineAt(c.threshold)),
    });
  }
  return { count: set.count, unsplitAccuracy, exitAccuracy: hasExit ? correct(exitPred) / set.count : null, calibration, rates };
}
