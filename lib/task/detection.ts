// detection, one output layout end to end (docs/bundle-format.md, "Detection"): `boxes`
// [K, 4] and `scores` [K, C] per sample, as SSD-style heads and most exported detectors
// with their decode step give them. Scores above the threshold, class-aware NMS, at most
// maxDetections boxes. Agreement: boxes of the same class matched at IoU ≥ 0.5, counted as
// 2·matched / (boxes of the original + boxes of the split), 1 when neither finds any.
import { softmax } from '../exit/policy';
import { AnswerReader, AnswerWriter } from './answer-bytes';
import { Scored, matchCount, nms, toXyxy } from './boxes';
import { Detection, DetectionResult, Outputs, Task, TaskContext, labelOf, outputOf, tally } from './types';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

interface Candidates { boxes: ArrayLike<number>; scores: ArrayLike<number>; anchors: number; classes: number; objectness?: ArrayLike<number> }

/** One packed output, [K, W] or [W, K] with W = 4 (+1 objectness) + C, as separate row-major boxes and scores. */
function unpack(t: { dims: readonly number[]; data: ArrayLike<number> }, packed: { transposed: boolean; objectness: boolean }): Candidates {
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2) throw new Error(`a packed detection output is [K, 4 + C] or [4 + C, K] per sample, got [${t.dims}]`);
  const [anchors, width] = packed.transposed ? [dims[1], dims[0]] : [dims[0], dims[1]];
  const first = packed.objectness ? 5 : 4;
  const classes = width - first;
  if (classes < 1) throw new Error(`a packed detection output needs ${first} box values and at least one class per candidate, got [${t.dims}]`);
  const at = packed.transposed ? (k: number, j: number) => t.data[j * anchors + k] : (k: number, j: number) => t.data[k * width + j];
  const boxes = new Float32Array(anchors * 4);
  const scores = new Float32Array(anchors * classes);
  const objectness = packed.objectness ? new Float32Array(anchors) : undefined;
  for (let k = 0; k < anchors; k++) {
    for (let j = 0; j < 4; j++) boxes[k * 4 + j] = at(k, j);
    if (objectness) objectness[k] = at(k, 4);
    for (let c = 0; c < classes; c++) scores[k * classes + c] = at(k, first + c);
  }
  return { boxes, scores, anchors, classes, objectness };
}

export function detectionTask(ctx: TaskContext): Task {
  if (ctx.task?.kind !== 'detection') throw new Error('detectionTask needs a task of kind "detection"');
  const spec = ctx.task;
  const format = spec.boxFormat ?? 'xyxy';
  const scoreThreshold = spec.scoreThreshold ?? 0.3;
  const iouThreshold = spec.iouThreshold ?? 0.45;
  const maxDetections = spec.maxDetections ?? 100;
  // Box coordinates travel as fractions of this extent (u16 each).
  const s = ctx.input.source;
  const extent = spec.normalized === false ? [s.width, s.height, s.width, s.height] : [1, 1, 1, 1];

  const activate = (raw: number) => (spec.scoreActivation === 'sigmoid' ? sigmoid(raw) : raw);

  function detect(out: Outputs): Scored[] {
    const { boxes, scores, anchors, classes, objectness } = spec.packed ? unpack(outputOf(out, spec.boxes), spec.packed) : separate(out);
    const candidates: Scored[] = [];
    for (let k = 0; k < anchors; k++) {
      const row = spec.scoreActivation === 'softmax' ? softmax(scores, k * classes, classes) : null;
      const object = objectness ? activate(objectness[k]) : 1;
      if (object < scoreThreshold) continue;
      for (let c = 0; c < classes; c++) {
        if (c === spec.background) continue;
        const score = object * (row ? row[c] : activate(scores[k * classes + c]));
        if (score >= scoreThreshold) candidates.push({ box: toXyxy(boxes, k * 4, format), index: c, score });
      }
    }
    return nms(candidates, iouThreshold, maxDetections);
  }

  function separate(out: Outputs): Candidates {
    const boxes = outputOf(out, spec.boxes);
    const scores = outputOf(out, spec.scores);
    const anchors = boxes.data.length / 4;
    const classes = scores.data.length / anchors;
    if (!Number.isInteger(anchors) || !Number.isInteger(classes)) {
      throw new Error(`detection outputs do not fit: "${spec.boxes}" [${boxes.dims}] is not [K, 4] against "${spec.scores}" [${scores.dims}] [K, C]`);
    }
    return { boxes: boxes.data, scores: scores.data, anchors, classes };
  }

  const toDetection = (d: Scored): Detection => ({ box: d.box, index: d.index, label: labelOf(ctx, d.index), score: d.score });
  return {
    kind: 'detection',
    reads: spec.packed ? [spec.boxes] : [spec.boxes, spec.scores],
    minAgreement: 0.99,
    interpret(out) {
      return { kind: 'detection', detections: detect(out).map(toDetection) };
    },
    encodeAnswer(r) {
      const { detections } = r as DetectionResult;
      const w = new AnswerWriter().varint(detections.length);
      for (const d of detections) {
        w.varint(d.index).unit16(d.score);
        d.box.forEach((v, i) => w.unit16(v / extent[i]));
      }
      return w.finish();
    },
    decodeAnswer(body) {
      const r = new AnswerReader(body, 'detection');
      const detections: Detection[] = [];
      for (let n = r.count(11); n > 0; n--) {
        const index = r.classIndex(ctx.labels.length);
        const score = r.unit16();
        const box = [0, 1, 2, 3].map((i) => r.unit16() * extent[i]) as Detection['box'];
        detections.push({ box, index, label: labelOf(ctx, index), score });
      }
      r.end();
      return { kind: 'detection', detections };
    },
    agreement(original, split) {
      const [matched, boxes] = tally(original, split, (o, s) => {
        const a = detect(o);
        const b = detect(s);
        return [matchCount(a, b, 0.5), a.length + b.length];
      });
      return { measure: 'boxes@0.5', value: boxes ? (2 * matched) / boxes : 1 };
    },
  };
}
