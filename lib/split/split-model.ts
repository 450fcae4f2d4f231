// `split-dnn split`: a user's ONNX model cut at one tensor into a complete bundle (head,
// tail, an 8-bit rate level calibrated on the samples, hashes, measured agreement), checked
// on the way: head then tail must reproduce the original, and the bundle must load.
import * as path from 'node:path';
import { ModelRuntime } from '../model/runtime';
import type { RateLevel } from '../model/manifest';
import { cutModel, planCut } from './graph-cut';
import { ElemType, ModelProto, TensorProto, toNumber, valueInfo, writeModel } from './onnx-proto';
import { Agreement, accuracy, agreement, argmaxRows, openSession, runAll, withOutputs } from './probe';
import { CalibrationSet, SampleOptions, readCalibrationSet, sourceFor } from './calibration-set';
import { CalibratedRate, calibrateRate } from './calibrate';
import { UNIT_IO, identityUnits } from './units';
import { ManifestDraft, prepareOutDir, writeBundleFiles, writeManifest } from './bundle-writer';
import { RateMeasurement, measureRate } from './measure';
import { openSourceModel } from './source-model';

export interface SplitOptions {
  model: string;
  at: string;
  calibrate: string;
  out: string;
  /** Graph output holding the logits; default the first output. */
  output?: string;
  name?: string;
  version?: string;
  /** Class names; default the calibration bundle's, else "0".."K-1". */
  classNames?: string[];
  labelsFile?: string;
  preprocess?: SampleOptions['preprocess'];
  bits?: number;
  clip?: number;
  limit?: number;
  force?: boolean;
}

export interface SplitReport {
  bundle: string;
  modelId: string;
  samples: string;
  count: number;
  splitShape: number[];
  headNodes: number;
  tailNodes: number;
  /** head → tail in float32 against the original model. */
  float: Agreement;
  /** head → 8-bit code → decode → tail against the original model. */
  quantized: RateMeasurement;
  originalAccuracy: number | null;
  bytes: { float32: number; raw8bit: number; coded: number; ideal: number };
  rate: CalibratedRate;
}

export class VerifyError extends Error {
  constructor(message: string) { super(message); this.name = 'VerifyError'; }
}

/** head then tail must give the original's answers: a few argmax flips at near-ties at most. */
const MIN_FLOAT_AGREEMENT = 0.999;
const MAX_RELATIVE_ERROR = 1e-3;

const DEFAULT_PREPROCESS = (channels: number) => ({ scale: 1 / 255, mean: new Array(channels).fill(0), std: new Array(channels).fill(1) });

function paramCount(m: ModelProto): number {
  return m.graph!.initializer.reduce((n: number, t: TensorProto) => n + t.dims.reduce((a: number, d) => a * toNumber(d), 1), 0);
}

function checkReproduces(float: Agreement, original: Float32Array, at: string): void {
  let scale = 1;
  for (const v of original) scale = Math.max(scale, Math.abs(v));
  if (float.argmaxAgreement < MIN_FLOAT_AGREEMENT || float.maxAbsError > MAX_RELATIVE_ERROR * scale) {
    throw new VerifyError(`head then tail at "${at}" does not reproduce the model: argmax agreement ${(float.argmaxAgreement * 100).toFixed(2)}%, max abs error ${float.maxAbsError.toExponential(2)}`);
  }
}

function classNamesFor(opts: SplitOptions, set: CalibrationSet, classes: number): string[] {
  const names = opts.classNames ?? (set.classNames?.length === classes ? set.classNames : undefined) ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) throw new Error(`${names.length} class names given, the model's output has ${classes} classes`);
  return names;
}

export async function splitModel(opts: SplitOptions): Promise<SplitReport> {
  const src = await openSourceModel(opts.model, opts.output);
  const { name: inputName, sampleDims } = src.input;
  // Refuse a bad cut before any inference: it names the crossing tensors.
  planCut(src.index, opts.at, [src.output]);
  const channels = sourceFor(sampleDims).channels;
  const set = await readCalibrationSet(opts.calibrate, {
    sampleDims, preprocess: opts.preprocess ?? DEFAULT_PREPROCESS(channels), labelsFile: opts.labelsFile, limit: opts.limit,
  });
  if (set.count < 1) throw new Error(`${opts.calibrate} holds no sample`);

  // The original model, with the split tensor as an extra output to learn its shape.
  const originalSession = await openSession(writeModel(withOutputs(src.model, [opts.at])));
  const ran = await runAll(originalSession, inputName, set.inputs, set.count, sampleDims, [src.output, opts.at]).finally(() => originalSession.release());
  const original = ran[src.output];
  const splitShape = ran[opts.at].dims.slice(1);
  if (original.dims.length !== 2) throw new Error(`output "${src.output}" has shape [${original.dims}]; a bundle's tail must give [N, classes] logits`);

  const cut = cutModel(src.model, src.index, opts.at, [src.output], valueInfo(opts.at, ElemType.FLOAT, ['N', ...splitShape]));
  const headBytes = writeModel(cut.head);
  const tailBytes = writeModel(cut.tail);
  const [headSession, tailSession] = await Promise.all([openSession(headBytes), openSession(tailBytes)]);
  let features: Float32Array;
  let float: Agreement;
  try {
    features = (await runAll(headSession, inputName, set.inputs, set.count, sampleDims, [opts.at]))[opts.at].data;
    const logits = (await runAll(tailSession, opts.at, features, set.count, splitShape, [src.output]))[src.output].data;
    float = agreement(original.data, logits, set.count);
  } finally {
    await Promise.all([headSession.release(), tailSession.release()]);
  }
  checkReproduces(float, original.data, opts.at);

  const bits = opts.bits ?? 8;
  const rate = calibrateRate(features, set.count, splitShape, bits, opts.clip ?? 0);
  const units = identityUnits(splitShape, rate.symbolShape);
  const classes = original.dims[1];
  const files: Record<string, Uint8Array> = { 'head.onnx': headBytes, 'tail.onnx': tailBytes, 'enc0.onnx': units.encoder, 'dec0.onnx': units.decoder };
  // uint8 samples become the bundle's sample set; without labels, the original's answers stand in.
  const sampleLabels = set.labels ?? Uint8Array.from(argmaxRows(original.data, set.count));
  if (set.pixels && classes <= 256) Object.assign(files, { 'samples/images.u8': set.pixels, 'samples/labels.u8': sampleLabels });

  const rateLevel: RateLevel = {
    level: 0, name: `int${bits}`,
    encoder: { file: 'enc0.onnx', input: UNIT_IO.features, output: UNIT_IO.latent },
    decoder: { file: 'dec0.onnx', input: UNIT_IO.latent, output: UNIT_IO.features },
    symbolShape: rate.symbolShape, quant: rate.quant, entropy: rate.entropy,
    calibratedRange: rate.range,
  };
  const draft: ManifestDraft = {
    format: 'split-dnn-bundle/1',
    name: opts.name ?? path.basename(opts.model).replace(/\.onnx$/i, ''),
    version: opts.version ?? '1.0.0',
    description: `${path.basename(opts.model)} split at "${opts.at}" by split-dnn split: ${bits}-bit uniform quantization calibrated on ${set.count} samples, no learned bottleneck unit, no early exit.`,
    input: { name: inputName, shape: [-1, ...sampleDims], dtype: 'float32', source: sourceFor(sampleDims), preprocess: set.preprocess },
    labels: classNamesFor(opts, set, classes),
    split: { name: opts.at, shape: splitShape, dtype: 'float32' },
    head: { file: 'head.onnx', input: inputName, features: opts.at },
    tail: { file: 'tail.onnx', input: opts.at, logits: src.output },
    rates: [rateLevel],
    ...(files['samples/images.u8'] ? { samples: { images: 'samples/images.u8', labels: 'samples/labels.u8', count: set.count, ...(set.labels ? {} : { labelSource: 'original-model-argmax' }) } } : {}),
    origin: { tool: 'split-dnn split', model: path.basename(opts.model), at: opts.at, output: src.output },
    files: {},
  };

  await prepareOutDir(opts.out, opts.force ?? false);
  const hashes = await writeBundleFiles(opts.out, files);
  await writeManifest(opts.out, draft, hashes);
  const rt = await ModelRuntime.open(opts.out, { workers: 1 });
  let quantized: RateMeasurement;
  try {
    quantized = await measureRate(rt, 0, set.inputs, set.count, original.data, set.labels);
  } finally {
    await rt.close();
  }

  const splitSize = splitShape.reduce((a, b) => a * b, 1);
  const bytes = { float32: splitSize * 4, raw8bit: Math.ceil((splitSize * bits) / 8), coded: quantized.codedBytes, ideal: quantized.idealBytes };
  const originalAccuracy = accuracy(original.data, set.labels);
  const dataset = `calibration samples: ${set.describe}`;
  rateLevel.measured = {
    dataset, accuracy: quantized.accuracy ?? undefined, argmaxAgreement: quantized.argmaxAgreement, maxAbsError: quantized.maxAbsError,
    idealBytes: quantized.idealBytes, codedBytes: quantized.codedBytes, maxCodedBytes: quantized.maxCodedBytes, float32Bytes: bytes.float32,
  };
  draft.measured = {
    dataset, unsplitAccuracy: originalAccuracy ?? undefined,
    splitFloat: float, split8bit: { argmaxAgreement: quantized.argmaxAgreement, maxAbsError: quantized.maxAbsError },
    headParams: paramCount(cut.head), tailParams: paramCount(cut.tail), exitParams: 0,
  };
  const bundle = await writeManifest(opts.out, draft, hashes);
  return {
    bundle: bundle.dir, modelId: bundle.modelId, samples: set.describe, count: set.count, splitShape,
    headNodes: cut.plan.headNodes.length, tailNodes: cut.plan.tailNodes.length,
    float, quantized, originalAccuracy, bytes, rate,
  };
}

/** For `--list`: the first calibration sample, or zeros when none is given. */
export async function firstSample(calibrate: string | undefined, sampleDims: number[], preprocess?: SampleOptions['preprocess']): Promise<Float32Array> {
  const per = sampleDims.reduce((a, b) => a * b, 1);
  if (!calibrate) return new Float32Array(per);
  const set = await readCalibrationSet(calibrate, { sampleDims, preprocess: preprocess ?? DEFAULT_PREPROCESS(sourceFor(sampleDims).channels), limit: 1 });
  return set.inputs.subarray(0, per);
}
