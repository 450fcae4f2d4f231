// `split-dnn split`: a user's ONNX model cut at one tensor into a complete bundle (head,
// tail, an 8-bit rate level calibrated on the samples, hashes, measured agreement), checked
// on the way: bad cuts are refused before any inference, head then tail must reproduce the
// original by the task's measure, and the bundle must load.
import { ModelRuntime } from '../model/runtime';
import type { ColorOrder, Layout, Preprocess, ResizeMode } from '../model/manifest';
import { Outputs, Task, perSample, taskFor } from '../task';
import { cutModel, planCut, resolveTensorName } from './graph-cut';
import { ElemType, valueInfo, writeModel } from './onnx-proto';
import { elemTypeName } from './dtypes';
import { argmaxRows, openSession, ortLogSeverity, runAll, withOutputs } from './probe';
import { SampleOptions, readCalibrationSet } from './calibration-set';
import { CalibratedRate, calibrateRate } from './calibrate';
import { identityUnits } from './units';
import { prepareOutDir, writeBundleFiles, writeManifest } from './bundle-writer';
import { Agreement, RateMeasurement, compare, measureRate } from './measure';
import { SourceModel, openSourceModel } from './source-model';
import { TaskOptions, chooseTask } from './task-detect';
import { manifestDraft, paramCount, rateLevel, sampleFiles } from './bundle-draft';

export interface SplitOptions {
  model: string;
  at: string;
  calibrate: string;
  out: string;
  /** Graph output(s) the tail gives; default all of them. */
  output?: string;
  outputs?: string[];
  name?: string;
  version?: string;
  /** Class names; default the calibration bundle's, else "0".."K-1". */
  classNames?: string[];
  labelsFile?: string;
  preprocess?: SampleOptions['preprocess'];
  resize?: ResizeMode;
  pad?: number;
  inputShape?: number[];
  layout?: Layout;
  color?: ColorOrder;
  task?: TaskOptions;
  bits?: number;
  clip?: number;
  limit?: number;
  /** Samples kept in the bundle (default: as many as fit 2 MiB, at least 8; 0 = none). */
  samples?: number;
  force?: boolean;
}

export interface SplitReport {
  bundle: string;
  modelId: string;
  samples: string;
  count: number;
  task: string;
  input: { shape: number[]; layout: Layout; layoutFrom: string; batch: 'dynamic' | 1; color: ColorOrder };
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
  keptSamples: number;
}

export class VerifyError extends Error {
  constructor(message: string) { super(message); this.name = 'VerifyError'; }
}

/** head then tail must give the original's answers up to float rounding. */
const MAX_RELATIVE_ERROR = 1e-3;

const DEFAULT_PREPROCESS = (channels: number) => ({ scale: 1 / 255, mean: new Array(channels).fill(0), std: new Array(channels).fill(1) });

function checkReproduces(task: Task, float: Agreement, original: Outputs[], at: string): void {
  let scale = 1;
  for (const o of original) for (const t of Object.values(o)) for (const v of t.data) scale = Math.max(scale, Math.abs(v));
  const measureOk = task.kind === 'tensors' || float.value >= task.minAgreement;
  if (!measureOk || float.maxAbsError > MAX_RELATIVE_ERROR * scale) {
    throw new VerifyError(`head then tail at "${at}" does not reproduce the model: ${float.measure} ${float.measure === 'maxAbsError' ? '' : `agreement ${(float.value * 100).toFixed(2)}%, `}max abs error ${float.maxAbsError.toExponential(2)}`);
  }
}

function classNamesFor(opts: SplitOptions, setNames: string[] | undefined, classes: number): string[] {
  const names = opts.classNames ?? (setNames?.length === classes ? setNames : undefined) ?? Array.from({ length: classes }, (_, i) => String(i));
  if (names.length !== classes) throw new Error(`${names.length} class names given, the model's output has ${classes} classes`);
  return names;
}

/** Everything that can be refused from the graph alone, before any sample is read or run. */
function checkBeforeRunning(src: SourceModel, at: string): void {
  planCut(src.index, at, src.outputs);
  for (const o of src.outputs) {
    const t = src.index.types.get(o);
    if (t !== undefined && t !== ElemType.FLOAT) throw new Error(`output "${o}" is ${elemTypeName(t)}; a tail's outputs travel as float32: choose the float outputs with --output NAME[,NAME]`);
  }
}

export async function splitModel(options: SplitOptions): Promise<SplitReport> {
  const outputs = options.outputs ?? (options.output ? options.output.split(',') : undefined);
  const src = await openSourceModel(options.model, { outputs, inputShape: options.inputShape, layout: options.layout, color: options.color });
  const opts = { ...options, at: resolveTensorName(src.index, options.at) };
  const { name: inputName, sampleDims, batch } = src.input;
  checkBeforeRunning(src, opts.at);
  const base = opts.preprocess ?? DEFAULT_PREPROCESS(src.input.frame.channels);
  const preprocess: Preprocess = { ...base, ...(opts.resize ? { resize: opts.resize } : {}), ...(opts.pad !== undefined ? { pad: opts.pad } : {}) };
  const set = await readCalibrationSet(opts.calibrate, {
    sampleDims, preprocess, labelsFile: opts.labelsFile, limit: opts.limit,
    layout: src.input.layout, frame: { ...src.input.frame, dtype: 'uint8' }, color: src.input.color, classNames: opts.classNames,
  });
  if (set.count < 1) throw new Error(`${opts.calibrate} holds no sample`);
  const chunk = batch === 1 ? 1 : undefined;

  // The original model, with the split tensor as an extra output to learn its shape.
  const originalSession = await openSession(writeModel(withOutputs(src.model, [opts.at])));
  const ran = await runAll(originalSession, inputName, set.inputs, set.count, sampleDims, [...src.outputs, opts.at], chunk).finally(() => originalSession.release());
  const splitShape = ran[opts.at].dims.slice(1);
  const outputDims = Object.fromEntries(src.outputs.map((o) => [o, ran[o].dims]));
  const chosen = chooseTask(src.index, src.outputs, outputDims, opts.task ?? {});
  const labels = classNamesFor(opts, set.classNames, chosen.classes);
  const taskContext = { labels, task: chosen.spec, tail: { file: '', input: opts.at, logits: chosen.primary, outputs: src.outputs }, input: { source: { ...src.input.frame, dtype: 'uint8' as const } } };
  const task = taskFor(taskContext as Parameters<typeof taskFor>[0]);
  const original = perSample(Object.fromEntries(src.outputs.map((o) => [o, ran[o]])), set.count);

  const cut = cutModel(src.model, src.index, opts.at, src.outputs, valueInfo(opts.at, ElemType.FLOAT, [batch === 1 ? 1 : 'N', ...splitShape]));
  const headBytes = writeModel(cut.head);
  const tailBytes = writeModel(cut.tail);
  const [headSession, tailSession] = await Promise.all([openSession(headBytes), openSession(tailBytes)]);
  let features: Float32Array;
  let float: Agreement;
  try {
    features = (await runAll(headSession, inputName, set.inputs, set.count, sampleDims, [opts.at], chunk))[opts.at].data;
    const tailOut = await runAll(tailSession, opts.at, features, set.count, splitShape, src.outputs, chunk);
    float = compare(task, src.outputs, original, perSample(tailOut, set.count));
  } finally {
    await Promise.all([headSession.release(), tailSession.release()]);
  }
  checkReproduces(task, float, original, opts.at);

  const bits = opts.bits ?? 8;
  const rate = calibrateRate(features, set.count, splitShape, bits, opts.clip ?? 0);
  const units = identityUnits(splitShape, rate.symbolShape);
  const top1 = chosen.spec.kind === 'classification' ? argmaxRows(ran[chosen.primary].data, set.count) : null;
  const samples = sampleFiles(set, chosen, top1, opts.samples);
  const files: Record<string, Uint8Array> = { 'head.onnx': headBytes, 'tail.onnx': tailBytes, 'enc0.onnx': units.encoder, 'dec0.onnx': units.decoder, ...samples.files };
  const level = rateLevel(rate);
  const draft = manifestDraft({
    model: opts.model, at: opts.at, name: opts.name, version: opts.version, input: src.input, preprocess: set.preprocess, color: src.input.color,
    task: chosen, outputs: src.outputs, labels, splitShape, rate: level, bits, count: set.count, samples: samples.spec,
  });

  await prepareOutDir(opts.out, opts.force ?? false);
  const hashes = await writeBundleFiles(opts.out, files);
  await writeManifest(opts.out, draft, hashes);
  const rt = await ModelRuntime.open(opts.out, { workers: 1, ortLogSeverity: ortLogSeverity() });
  let quantized: RateMeasurement;
  try {
    quantized = await measureRate(rt, 0, set.inputs, set.count, original, task, src.outputs, set.labelSets);
  } finally {
    await rt.close();
  }

  const splitSize = splitShape.reduce((a, b) => a * b, 1);
  const bytes = { float32: splitSize * 4, raw8bit: Math.ceil((splitSize * bits) / 8), coded: quantized.codedBytes, ideal: quantized.idealBytes };
  const originalAccuracy = set.labelSets && task.accuracy ? task.accuracy(original, set.labelSets) : null;
  const dataset = `calibration: ${set.describe}`;
  level.measured = {
    dataset, accuracy: quantized.accuracy ?? undefined, agreement: { measure: quantized.measure, value: quantized.value },
    ...(quantized.argmaxAgreement !== undefined ? { argmaxAgreement: quantized.argmaxAgreement } : {}), maxAbsError: quantized.maxAbsError,
    idealBytes: quantized.idealBytes, codedBytes: quantized.codedBytes, maxCodedBytes: quantized.maxCodedBytes, float32Bytes: bytes.float32,
  };
  draft.measured = {
    dataset, unsplitAccuracy: originalAccuracy ?? undefined,
    splitFloat: float, split8bit: { measure: quantized.measure, value: quantized.value, maxAbsError: quantized.maxAbsError, ...(quantized.argmaxAgreement !== undefined ? { argmaxAgreement: quantized.argmaxAgreement } : {}) },
    headParams: paramCount(cut.head), tailParams: paramCount(cut.tail), exitParams: 0,
  };
  const bundle = await writeManifest(opts.out, draft, hashes);
  const { layout, layoutFrom, color } = src.input;
  return {
    bundle: bundle.dir, modelId: bundle.modelId, samples: set.describe, count: set.count, task: chosen.spec.kind,
    input: { shape: [batch === 1 ? 1 : -1, ...sampleDims], layout, layoutFrom, batch, color },
    splitShape, headNodes: cut.plan.headNodes.length, tailNodes: cut.plan.tailNodes.length,
    float, quantized, originalAccuracy, bytes, rate, keptSamples: samples.spec?.count ?? 0,
  };
}

/** For `--list`: the first calibration sample, or zeros when none is given. */
export async function firstSample(calibrate: string | undefined, src: SourceModel, preprocess?: SampleOptions['preprocess']): Promise<Float32Array> {
  const per = src.input.sampleDims.reduce((a, b) => a * b, 1);
  if (!calibrate) return new Float32Array(per);
  const set = await readCalibrationSet(calibrate, {
    sampleDims: src.input.sampleDims, preprocess: preprocess ?? DEFAULT_PREPROCESS(src.input.frame.channels), limit: 1,
    layout: src.input.layout, frame: { ...src.input.frame, dtype: 'uint8' }, color: src.input.color,
  });
  return set.inputs.subarray(0, per);
}
