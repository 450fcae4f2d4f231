// Types and validation of a bundle's manifest.json (docs/bundle-format.md). Validation
// happens once at load time so every later use can trust the shapes and names.

export interface EntropyChannel { offset: number; counts: number[] }
export interface EntropySpec { coder: string; precisionBits: number; channels: EntropyChannel[] }
export interface QuantSpec { step: number; min: number; max: number }
export interface OnnxIo { file: string; input: string; output: string }

export interface RateLevel {
  level: number;
  name: string;
  encoder: OnnxIo;
  decoder: OnnxIo;
  symbolShape: number[];
  quant: QuantSpec;
  entropy: EntropySpec;
  measured?: { accuracy?: number; idealBytes?: number; codedBytes?: number; [k: string]: unknown };
  [k: string]: unknown;
}

export type Layout = 'nchw' | 'nhwc';
export type ColorOrder = 'rgb' | 'bgr' | 'gray';
export type ResizeMode = 'stretch' | 'letterbox' | 'crop';
export type BoxFormat = 'xyxy' | 'yxyx' | 'cxcywh';

/** What the tail's outputs mean (docs/bundle-format.md, "Tasks"); absent = classification. */
export type TaskSpec =
  | { kind: 'classification'; output?: string; topK?: number }
  | { kind: 'multilabel'; output?: string; threshold?: number; activation?: 'sigmoid' | 'none' }
  | {
    kind: 'detection'; boxes: string; scores: string; boxFormat?: BoxFormat; normalized?: boolean;
    scoreActivation?: 'none' | 'sigmoid' | 'softmax'; background?: number;
    scoreThreshold?: number; iouThreshold?: number; maxDetections?: number;
  }
  | { kind: 'tensors'; outputs?: string[] };

export interface Preprocess {
  scale: number; mean: number[]; std: number[];
  /** How a frame of another size becomes source height × width (default stretch). */
  resize?: ResizeMode;
  /** Letterbox fill, 0..255. */
  pad?: number;
}

export interface CalibrationPoint { threshold: number; exitRate: number; exitAccuracy: number; accuracy: number }

export interface Manifest {
  format: string;
  name: string;
  version: string;
  description?: string;
  input: {
    name: string;
    shape: number[];
    dtype: 'float32';
    /** Axis order of the model's input (default nchw). uint8 frames are always C×H×W. */
    layout?: Layout;
    color?: ColorOrder;
    /** 1: the model only runs one sample per ORT run. */
    batch?: 'dynamic' | 1;
    source: { height: number; width: number; channels: number; dtype: 'uint8' };
    preprocess: Preprocess;
  };
  task?: TaskSpec;
  labels: string[];
  split: { name: string; shape: number[]; dtype: 'float32' };
  head: { file: string; input: string; features: string; exitLogits?: string };
  /** `logits` is the output the task reads first; `outputs` every output the tail gives, in order. */
  tail: { file: string; input: string; logits: string; outputs?: string[] };
  exit?: { confidence: 'max_softmax' | 'entropy'; defaultThreshold: number; calibration: CalibrationPoint[] };
  rates: RateLevel[];
  measured?: { unsplitAccuracy?: number; exitAccuracy?: number; [k: string]: unknown };
  samples?: { images: string; labels: string; count: number; labelSource?: string };
  files: Record<string, string>;
  [k: string]: unknown;
}

export class ManifestError extends Error {
  constructor(message: string, readonly field: string) {
    super(`manifest.json: ${message}`);
    this.name = 'ManifestError';
  }
}

type Json = Record<string, unknown>;

function need(obj: Json, key: string, kind: 'string' | 'number' | 'object' | 'array', at: string): unknown {
  const value = obj[key];
  const ok = kind === 'array' ? Array.isArray(value)
    : kind === 'object' ? typeof value === 'object' && value !== null && !Array.isArray(value)
    : typeof value === kind;
  if (!ok) throw new ManifestError(`${at}${key} must be ${kind === 'array' ? 'an array' : `a ${kind}`}`, at + key);
  return value;
}

function needShape(obj: Json, key: string, at: string, allowBatch: boolean): number[] {
  const shape = need(obj, key, 'array', at) as unknown[];
  shape.forEach((d, i) => {
    const batch = allowBatch && i === 0 && d === -1;
    if (!batch && !(Number.isInteger(d) && (d as number) > 0)) {
      throw new ManifestError(`${at}${key}[${i}] must be a positive integer`, `${at}${key}`);
    }
  });
  return shape as number[];
}

function checkOnnxIo(obj: Json, at: string): void {
  need(obj, 'file', 'string', at);
  need(obj, 'input', 'string', at);
  need(obj, 'output', 'string', at);
}

function checkRate(rate: Json, i: number): void {
  const at = `rates[${i}].`;
  if (rate.level !== i) throw new ManifestError(`${at}level must be ${i} (levels are the array index)`, `${at}level`);
  need(rate, 'name', 'string', at);
  checkOnnxIo(need(rate, 'encoder', 'object', at) as Json, `${at}encoder.`);
  checkOnnxIo(need(rate, 'decoder', 'object', at) as Json, `${at}decoder.`);
  const shape = needShape(rate, 'symbolShape', at, false);
  if (shape.length !== 3) throw new ManifestError(`${at}symbolShape must be [C, H, W]`, `${at}symbolShape`);
  const quant = need(rate, 'quant', 'object', at) as Json;
  const step = need(quant, 'step', 'number', `${at}quant.`) as number;
  if (!(step > 0) || !Number.isFinite(step)) throw new ManifestError(`${at}quant.step must be > 0`, `${at}quant.step`);
  const min = need(quant, 'min', 'number', `${at}quant.`) as number;
  const max = need(quant, 'max', 'number', `${at}quant.`) as number;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
    throw new ManifestError(`${at}quant.min/max must be integers with min <= max`, `${at}quant`);
  }
  const entropy = need(rate, 'entropy', 'object', at) as Json;
  const channels = need(entropy, 'channels', 'array', `${at}entropy.`) as unknown[];
  if (channels.length !== shape[0]) {
    throw new ManifestError(`${at}entropy.channels has ${channels.length} tables for ${shape[0]} channels`, `${at}entropy.channels`);
  }
}

function checkChoice(obj: Json, key: string, allowed: unknown[], at: string): void {
  if (obj[key] !== undefined && !allowed.includes(obj[key])) {
    throw new ManifestError(`${at}${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(obj[key])}`, at + key);
  }
}

function checkTask(m: Json): TaskSpec['kind'] {
  if (m.task === undefined) return 'classification';
  const task = need(m, 'task', 'object', '') as Json;
  checkChoice(task, 'kind', ['classification', 'multilabel', 'detection', 'tensors'], 'task.');
  if (task.kind === undefined) throw new ManifestError('task.kind must be given', 'task.kind');
  if (task.kind === 'detection') for (const k of ['boxes', 'scores']) need(task, k, 'string', 'task.');
  checkChoice(task, 'boxFormat', ['xyxy', 'yxyx', 'cxcywh'], 'task.');
  return task.kind as TaskSpec['kind'];
}

/** Parse and check a manifest; throws ManifestError naming the first bad field. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`not valid JSON (${(err as Error).message})`, '');
  }
  if (typeof raw !== 'object' || raw === null) throw new ManifestError('must be a JSON object', '');
  const m = raw as Json;
  if (m.format !== 'split-dnn-bundle/1') {
    throw new ManifestError(`format must be "split-dnn-bundle/1", got ${JSON.stringify(m.format)}`, 'format');
  }
  need(m, 'name', 'string', '');
  need(m, 'version', 'string', '');
  const input = need(m, 'input', 'object', '') as Json;
  need(input, 'name', 'string', 'input.');
  needShape(input, 'shape', 'input.', true);
  need(input, 'source', 'object', 'input.');
  need(input, 'preprocess', 'object', 'input.');
  const labels = need(m, 'labels', 'array', '') as unknown[];
  const task = checkTask(m);
  if (labels.length === 0 && task !== 'tensors') throw new ManifestError('labels must not be empty', 'labels');
  checkChoice(input, 'layout', ['nchw', 'nhwc'], 'input.');
  checkChoice(input, 'color', ['rgb', 'bgr', 'gray'], 'input.');
  checkChoice(input, 'batch', ['dynamic', 1], 'input.');
  checkChoice(input.preprocess as Json, 'resize', ['stretch', 'letterbox', 'crop'], 'input.preprocess.');
  needShape(need(m, 'split', 'object', '') as Json, 'shape', 'split.', false);
  const head = need(m, 'head', 'object', '') as Json;
  for (const k of ['file', 'input', 'features']) need(head, k, 'string', 'head.');
  const tail = need(m, 'tail', 'object', '') as Json;
  for (const k of ['file', 'input', 'logits']) need(tail, k, 'string', 'tail.');
  (need(m, 'rates', 'array', '') as Json[]).forEach(checkRate);
  need(m, 'files', 'object', '');
  return m as unknown as Manifest;
}
