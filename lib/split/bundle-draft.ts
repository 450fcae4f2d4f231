// The manifest and files of a split bundle, from what the splitter learned: input spec,
// task, split tensor, calibrated rate level and a small sample set.
import * as path from 'node:path';
import type { ColorOrder, Manifest, Preprocess, RateLevel } from '../model/manifest';
import type { InputSpec } from './input-spec';
import type { CalibrationSet } from './calibration-set';
import type { CalibratedRate } from './calibrate';
import type { ChosenTask } from './task-detect';
import type { ModelProto, TensorProto } from './onnx-proto';
import { toNumber } from './onnx-proto';
import { UNIT_IO } from './units';
import type { ManifestDraft } from './bundle-writer';

/** Without --samples, a bundle keeps as many samples as fit this many bytes (at least 8). */
export const SAMPLE_BUDGET_BYTES = 2 * 1024 * 1024;
const MIN_SAMPLES = 8;

const elements = (t: TensorProto | null | undefined) => (t ? t.dims.reduce((a: number, d) => a * toNumber(d), 1) : 0);

/** Weights in initializers and in Constant nodes (paddle2onnx and some tf2onnx exports keep them there). */
export function paramCount(m: ModelProto): number {
  const g = m.graph!;
  const constants = g.node.filter((n) => n.opType === 'Constant').reduce((sum, n) => sum + elements(n.attribute.find((a) => a.name === 'value')?.t), 0);
  return g.initializer.reduce((sum, t) => sum + elements(t), 0) + constants;
}

export function rateLevel(rate: CalibratedRate): RateLevel {
  return {
    level: 0, name: `int${rate.bits}`,
    encoder: { file: 'enc0.onnx', input: UNIT_IO.features, output: UNIT_IO.latent },
    decoder: { file: 'dec0.onnx', input: UNIT_IO.latent, output: UNIT_IO.features },
    symbolShape: rate.symbolShape, quant: rate.quant, entropy: rate.entropy,
    calibratedRange: rate.range,
  };
}

/**
 * The first `keep` uint8 samples as the bundle's sample set (default: what fits the budget). Labels: the given ones for a
 * classifier, else the original model's top-1 (`labelSource` says so); other tasks get
 * zero labels, since samples.labels is one byte per sample.
 */
export function sampleFiles(set: CalibrationSet, task: ChosenTask, originalTop1: Int32Array | null, keep?: number): { files: Record<string, Uint8Array>; spec?: Manifest['samples'] } {
  if (!set.pixels || keep === 0) return { files: {} };
  const per = set.pixels.length / set.count;
  const count = Math.min(keep ?? Math.max(MIN_SAMPLES, Math.floor(SAMPLE_BUDGET_BYTES / per)), set.count);
  const classifier = task.spec.kind === 'classification' && task.classes <= 256;
  const labels = classifier ? (set.labels ?? Uint8Array.from(originalTop1!)).subarray(0, count) : new Uint8Array(count);
  const labelSource = classifier ? (set.labels ? undefined : 'original-model-argmax') : `none (task ${task.spec.kind})`;
  return {
    files: { 'samples/images.u8': set.pixels.subarray(0, count * per), 'samples/labels.u8': labels },
    spec: { images: 'samples/images.u8', labels: 'samples/labels.u8', count, ...(labelSource ? { labelSource } : {}) },
  };
}

export interface DraftParts {
  model: string; at: string; name?: string; version?: string;
  input: InputSpec; preprocess: Preprocess; color: ColorOrder;
  task: ChosenTask; outputs: string[]; labels: string[];
  splitShape: number[]; rate: RateLevel; bits: number; count: number;
  samples?: Manifest['samples'];
}

export function manifestDraft(p: DraftParts): ManifestDraft {
  return {
    format: 'split-dnn-bundle/1',
    name: p.name ?? path.basename(p.model).replace(/\.onnx$/i, ''),
    version: p.version ?? '1.0.0',
    description: `${path.basename(p.model)} split at "${p.at}" by split-dnn split: ${p.bits}-bit uniform quantization calibrated on ${p.count} samples, no learned bottleneck unit, no early exit.`,
    input: {
      name: p.input.name, shape: [p.input.batch === 1 ? 1 : -1, ...p.input.sampleDims], dtype: 'float32',
      layout: p.input.layout, color: p.color, batch: p.input.batch,
      source: { ...p.input.frame, dtype: 'uint8' }, preprocess: p.preprocess,
    },
    task: p.task.spec,
    labels: p.labels,
    split: { name: p.at, shape: p.splitShape, dtype: 'float32' },
    head: { file: 'head.onnx', input: p.input.name, features: p.at },
    tail: { file: 'tail.onnx', input: p.at, logits: p.task.primary, outputs: p.outputs },
    rates: [p.rate],
    ...(p.samples ? { samples: p.samples } : {}),
    origin: { tool: 'split-dnn split', model: path.basename(p.model), at: p.at, outputs: p.outputs },
    files: {},
  };
}
