// Which task a model's outputs answer, when `--task` does not say: two outputs [N, K, 4] and
// [N, K, C] are detection boxes and scores; one [N, K, 4 + C] or [N, 4 + C, K] output with
// many more candidates than values per candidate is packed detection (YOLO exports); one
// [N, C] output made by a Sigmoid is multilabel, any other [N, C] is classification;
// everything else is raw tensors.
import type { TaskSpec } from '../model/manifest';
import type { GraphIndex } from './graph-cut';

export type TaskKind = TaskSpec['kind'];

export interface TaskOptions {
  task?: TaskKind;
  boxes?: string; scores?: string;
  boxFormat?: 'xyxy' | 'yxyx' | 'cxcywh'; normalized?: boolean;
  scoreActivation?: 'none' | 'sigmoid' | 'softmax'; background?: number;
  scoreThreshold?: number; iouThreshold?: number; maxDetections?: number;
  /** Packed detection: a box confidence after the 4 box values (YOLOv5/v7). */
  objectness?: boolean;
  threshold?: number; topK?: number;
}

export interface ChosenTask { spec: TaskSpec; /** the output `tail.logits` names */ primary: string; classes: number }

type Dims = Record<string, number[]>;

function detectionPair(outputs: string[], dims: Dims, opts: TaskOptions): { boxes: string; scores: string } | null {
  const boxes = opts.boxes ?? outputs.find((o) => dims[o].length === 3 && dims[o][2] === 4);
  const scores = opts.scores ?? outputs.find((o) => o !== boxes && dims[o].length === 3 && boxes !== undefined && dims[o][1] === dims[boxes][1]);
  return boxes && scores ? { boxes, scores } : null;
}

/** One [N, a, b] output that reads as candidates × (4 + C) values, either way round. */
function packedOutput(outputs: string[], dims: Dims, opts: TaskOptions): string | null {
  const name = opts.boxes ?? (outputs.length === 1 ? outputs[0] : undefined);
  if (!name || !dims[name] || dims[name].length !== 3) return null;
  const [, a, b] = dims[name];
  return Math.min(a, b) >= (opts.objectness ? 6 : 5) && Math.max(a, b) >= 8 * Math.min(a, b) ? name : null;
}

function packedDetection(out: string, dims: number[], opts: TaskOptions): ChosenTask {
  const [, a, b] = dims;
  const transposed = a < b;
  const classes = Math.min(a, b) - (opts.objectness ? 5 : 4);
  const spec: TaskSpec = {
    kind: 'detection', boxes: out, scores: out, packed: { transposed, objectness: opts.objectness ?? false },
    // As YOLO exports write them: centre and size in input pixels, scores already sigmoid.
    boxFormat: opts.boxFormat ?? 'cxcywh', normalized: opts.normalized ?? false, scoreActivation: opts.scoreActivation ?? 'none',
    ...(opts.background !== undefined ? { background: opts.background } : {}),
    scoreThreshold: opts.scoreThreshold ?? 0.3, iouThreshold: opts.iouThreshold ?? 0.45, maxDetections: opts.maxDetections ?? 100,
  };
  return { spec, primary: out, classes };
}

export function chooseTask(index: GraphIndex, outputs: string[], dims: Dims, opts: TaskOptions): ChosenTask {
  const single = outputs.length === 1 && dims[outputs[0]].length === 2 ? outputs[0] : null;
  const pair = detectionPair(outputs, dims, opts);
  const packed = pair ? null : packedOutput(outputs, dims, opts);
  const kind: TaskKind = opts.task
    ?? (pair || packed ? 'detection' : single ? (index.opOf(single) === 'Sigmoid' ? 'multilabel' : 'classification') : 'tensors');
  const shape = (o: string) => `"${o}" [${dims[o].join(', ')}]`;
  if (kind === 'detection' && packed) return packedDetection(packed, dims[packed], opts);
  if (kind === 'detection') {
    if (!pair) throw new Error(`--task detection needs boxes [N, K, 4] and scores [N, K, C] outputs (name them with --boxes and --scores), or one packed [N, K, 4 + C] / [N, 4 + C, K] output; the model gives ${outputs.map(shape).join(', ')}`);
    for (const o of [pair.boxes, pair.scores]) if (!outputs.includes(o)) throw new Error(`"${o}" is not one of the tail's outputs (${outputs.join(', ')})`);
    const { boxes, scores } = pair;
    if (dims[boxes].length !== 3 || dims[boxes][2] !== 4 || dims[scores].length !== 3 || dims[scores][1] !== dims[boxes][1]) {
      throw new Error(`detection needs boxes [N, K, 4] and scores [N, K, C]; got ${shape(boxes)} and ${shape(scores)}`);
    }
    const scoreOp = index.opOf(scores);
    const spec: TaskSpec = {
      kind, boxes, scores, boxFormat: opts.boxFormat ?? 'xyxy', normalized: opts.normalized ?? true,
      // Scores a Softmax or Sigmoid made are probabilities already; raw scores get a sigmoid.
      scoreActivation: opts.scoreActivation ?? (scoreOp === 'Softmax' || scoreOp === 'Sigmoid' ? 'none' : 'sigmoid'),
      ...(opts.background !== undefined ? { background: opts.background } : {}),
      scoreThreshold: opts.scoreThreshold ?? 0.3, iouThreshold: opts.iouThreshold ?? 0.45, maxDetections: opts.maxDetections ?? 100,
    };
    return { spec, primary: scores, classes: dims[scores][2] };
  }
  if (kind === 'classification' || kind === 'multilabel') {
    const out = single ?? outputs[0];
    if (dims[out].length !== 2) throw new Error(`--task ${kind} needs one [N, classes] output; ${shape(out)} is not (try --task tensors, or --output NAME)`);
    const spec: TaskSpec = kind === 'classification'
      ? { kind, output: out, topK: opts.topK ?? 5 }
      : { kind, output: out, threshold: opts.threshold ?? 0.5, activation: index.opOf(out) === 'Sigmoid' ? 'none' : 'sigmoid' };
    return { spec, primary: out, classes: dims[out][1] };
  }
  return { spec: { kind: 'tensors', outputs }, primary: outputs[0], classes: 0 };
}
