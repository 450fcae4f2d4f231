// `split-dnn split` options that describe the model's input and task, parsed into what
// lib/split takes. Kept apart from cmd-split.ts so the command stays readable.
import type { ColorOrder, Layout, ResizeMode } from '../lib/model/manifest';
import type { SplitOptions } from '../lib/split';

type Args = Record<string, string | boolean | undefined>;

export const INPUT_TASK_OPTIONS = {
  'input-shape': { type: 'string' }, layout: { type: 'string' }, color: { type: 'string' }, resize: { type: 'string' }, pad: { type: 'string' },
  task: { type: 'string' }, 'top-k': { type: 'string' }, threshold: { type: 'string' },
  boxes: { type: 'string' }, scores: { type: 'string' }, 'box-format': { type: 'string' }, 'pixel-boxes': { type: 'boolean', default: false },
  'score-activation': { type: 'string' }, background: { type: 'string' }, objectness: { type: 'boolean', default: false },
  'score-threshold': { type: 'string' }, 'iou-threshold': { type: 'string' }, 'max-detections': { type: 'string' },
} as const;

export const INPUT_TASK_USAGE = `input (as the model was exported):
  --input-shape D,D,…  sizes for dynamic axes (e.g. 3,224,224 or 1,3,224,224); needed when H/W are dynamic
  --layout nchw|nhwc   the input's axis order (default: detected from a Transpose after the input, or the shape)
  --color rgb|bgr|gray channel order the model was trained with (default rgb, gray for 1 channel)
  --resize stretch|letterbox|crop   how an image of another size becomes the input size (default stretch)
  --pad P              letterbox fill 0..255 (default 0)
task (what the outputs mean; default detected: boxes [N,K,4] + scores [N,K,C] → detection,
one [N,4+C,K] or [N,K,4+C] output (YOLO) → packed detection, a Sigmoid [N,C] → multilabel,
another [N,C] → classification, else tensors):
  --task classification|multilabel|detection|tensors
  --top-k K            classification: classes in a result (default 5)
  --threshold P        multilabel: decision threshold on the probability (default 0.5)
  --boxes NAME --scores NAME   detection outputs (default: the [N,K,4] one and the other [N,K,C])
  --box-format xyxy|yxyx|cxcywh (default xyxy)   --pixel-boxes  boxes are in input pixels, not 0..1
  --score-activation none|sigmoid|softmax   (default none after a Softmax/Sigmoid, else sigmoid)
  --background I       a class index that is not an object (SSD's 0)
  --objectness         packed detection: a box confidence follows the 4 box values (YOLOv5/v7)
                       (packed defaults: --box-format cxcywh, boxes in pixels, scores as given)
  --score-threshold P (0.3)  --iou-threshold P (0.45)  --max-detections N (100)`;

const num = (args: Args, key: string): number | undefined => {
  const v = args[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} "${v}" is not a number`);
  return n;
};

function choice<T extends string>(args: Args, key: string, allowed: readonly T[]): T | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new Error(`--${key} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

/** "3,224,224", "1x3x224x224" → numbers. */
export function parseShape(s: string): number[] {
  const dims = s.split(/[,x×]/).map((d) => Number(d.trim()));
  if (!dims.length || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`--input-shape "${s}" must be positive integers separated by commas`);
  return dims;
}

export function inputOptions(args: Args): Pick<SplitOptions, 'inputShape' | 'layout' | 'color' | 'resize' | 'pad'> {
  const pad = num(args, 'pad');
  if (pad !== undefined && !(Number.isInteger(pad) && pad >= 0 && pad <= 255)) throw new Error(`--pad must be 0..255, got ${pad}`);
  return {
    inputShape: typeof args['input-shape'] === 'string' ? parseShape(args['input-shape']) : undefined,
    layout: choice<Layout>(args, 'layout', ['nchw', 'nhwc']),
    color: choice<ColorOrder>(args, 'color', ['rgb', 'bgr', 'gray']),
    resize: choice<ResizeMode>(args, 'resize', ['stretch', 'letterbox', 'crop']),
    pad,
  };
}

export function taskOptions(args: Args): NonNullable<SplitOptions['task']> {
  return {
    task: choice(args, 'task', ['classification', 'multilabel', 'detection', 'tensors'] as const),
    topK: num(args, 'top-k'), threshold: num(args, 'threshold'),
    boxes: args.boxes as string | undefined, scores: args.scores as string | undefined,
    boxFormat: choice(args, 'box-format', ['xyxy', 'yxyx', 'cxcywh'] as const),
    normalized: args['pixel-boxes'] ? false : undefined,
    scoreActivation: choice(args, 'score-activation', ['none', 'sigmoid', 'softmax'] as const),
    background: num(args, 'background'), objectness: args.objectness ? true : undefined,
    scoreThreshold: num(args, 'score-threshold'), iouThreshold: num(args, 'iou-threshold'), maxDetections: num(args, 'max-detections'),
  };
}
