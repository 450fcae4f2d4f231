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
    /** One output holds boxes and scores (boxes === scores): [K, 4 (+1) + C], or [4 (+1) + C, K] when transposed (YOLOv8). */
    packed?: { transposed: boolean; objectness: boolean };
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
    /** The model's own layout, batch first (-1 = dynamic). */
    shape: number[];
    /** Axis order of `shape` (default nchw); uint8 frames are C×H×W whatever it is. */
    layout?: Layout;
    /** Channel order the model expects (default gray for 1 channel, else rgb). */
    color?: ColorOrder;
    /** 1: the model only runs one sample per call (default dynamic). */
    batch?: 'dynamic' | 1;
    dtype: 'float32';
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

function need(obj: Json, key: string, kind: 'string' | 'number' | 'boolean' | 'object' | 'array', at: string): unknown {
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

function oneOf(obj: Json, key: string, allowed: unknown[], at: string): void {
  if (obj[key] !== undefined && !allowed.includes(obj[key])) {
    throw new ManifestError(`${at}${key} must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${JSON.stringify(obj[key])}`, at + key);
  }
}

/** The input section: the optional image fields old bundles lack must agree with the shape. */
function checkInput(input: Json): void {
  const shape = input.shape as number[];
  oneOf(input, 'layout', ['nchw', 'nhwc'], 'input.');
  oneOf(input, 'color', ['rgb', 'bgr', 'gray'], 'input.');
  oneOf(input, 'batch', ['dynamic', 1], 'input.');
  if (input.batch === 1 && shape[0] !== -1 && shape[0] !== 1) {
    throw new ManifestError(`input.batch is 1 but input.shape[0] is ${shape[0]}`, 'input.batch');
  }
  const source = need(input, 'source', 'object', 'input.') as Json;
  const size = ['height', 'width', 'channels'].map((k) => {
    const v = need(source, k, 'number', 'input.source.') as number;
    if (!(Number.isInteger(v) && v > 0)) throw new ManifestError(`input.source.${k} must be a positive integer`, `input.source.${k}`);
    return v;
  });
  const [height, width, channels] = size;
  const values = shape.slice(1).reduce((a, b) => a * b, 1);
  if (height * width * channels !== values) {
    throw new ManifestError(`input.source ${channels}×${height}×${width} does not fill input.shape [${shape}] (${values} values per sample)`, 'input.source');
  }
  const layout = input.layout ?? 'nchw';
  if (shape.length === 4) {
    const [c, h, w] = layout === 'nhwc' ? [shape[3], shape[1], shape[2]] : [shape[1], shape[2], shape[3]];
    if (c !== channels || h !== height || w !== width) {
      throw new ManifestError(`input.source is ${channels}×${height}×${width} (C×H×W) but input.shape [${shape}] in ${layout} is ${c}×${h}×${w}`, 'input.source');
    }
  } else if (input.layout !== undefined) {
    throw new ManifestError(`input.layout needs a 4-axis input.shape, got [${shape}]`, 'input.layout');
  }
  const color = input.color ?? (channels === 1 ? 'gray' : 'rgb');
  if ((color === 'gray') !== (channels === 1) || (channels !== 1 && channels !== 3 && input.color !== undefined)) {
    throw new ManifestError(`input.color "${color}" does not fit ${channels} channel(s) (gray is 1, rgb and bgr are 3)`, 'input.color');
  }
  const pre = need(input, 'preprocess', 'object', 'input.') as Json;
  need(pre, 'scale', 'number', 'input.preprocess.');
  for (const k of ['mean', 'std']) {
    const list = need(pre, k, 'array', 'input.preprocess.') as unknown[];
    if (list.length !== channels || !list.every((v) => typeof v === 'number' && Number.isFinite(v) && (k === 'mean' || v !== 0))) {
      throw new ManifestError(`input.preprocess.${k} must be ${channels} finite number(s)${k === 'std' ? ', none 0' : ''}, one per channel in the model's colour order`, `input.preprocess.${k}`);
    }
  }
  oneOf(pre, 'resize', ['stretch', 'letterbox', 'crop'], 'input.preprocess.');
  if (pre.pad !== undefined && !(Number.isInteger(pre.pad) && (pre.pad as number) >= 0 && (pre.pad as number) <= 255)) {
    throw new ManifestError(`input.preprocess.pad must be an integer 0..255 (the letterbox fill), got ${JSON.stringify(pre.pad)}`, 'input.preprocess.pad');
  }
}

function checkTask(m: Json): TaskSpec['kind'] {
  if (m.task === undefined) return 'classification';
  const task = need(m, 'task', 'object', '') as Json;
  oneOf(task, 'kind', ['classification', 'multilabel', 'detection', 'tensors'], 'task.');
  if (task.kind === undefined) throw new ManifestError('task.kind must be given', 'task.kind');
  if (task.kind === 'detection') for (const k of ['boxes', 'scores']) need(task, k, 'string', 'task.');
  oneOf(task, 'boxFormat', ['xyxy', 'yxyx', 'cxcywh'], 'task.');
  if (task.packed !== undefined) {
    const packed = need(task, 'packed', 'object', 'task.') as Json;
    for (const k of ['transposed', 'objectness']) need(packed, k, 'boolean', 'task.packed.');
    if (task.boxes !== task.scores) throw new ManifestError('task.packed: boxes and scores name the same output', 'task.packed');
  }
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
  checkInput(input);
  const labels = need(m, 'labels', 'array', '') as unknown[];
  const task = checkTask(m);
  if (labels.length === 0 && task !== 'tensors') throw new ManifestError('labels must not be empty', 'labels');
  needShape(need(m, 'split', 'object', '') as Json, 'shape', 'split.', false);
  const head = need(m, 'head', 'object', '') as Json;
  for (const k of ['file', 'input', 'features']) need(head, k, 'string', 'head.');
  const tail = need(m, 'tail', 'object', '') as Json;
  for (const k of ['file', 'input', 'logits']) need(tail, k, 'string', 'tail.');
  (need(m, 'rates', 'array', '') as Json[]).forEach(checkRate);
  need(m, 'files', 'object', '');
  return m as unknown as Manifest;
}
