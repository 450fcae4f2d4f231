// lib/task without ORT: what each task makes of tail outputs, its compact answer both ways,
// its agreement measure, and refusals of answers that are short or forged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerError, Outputs, taskFor, nms, iou, DetectionResult, ClassificationResult, MultilabelResult, TensorsResult } from '../lib/task';
import type { Manifest, TaskSpec } from '../lib/model/manifest';

const ctx = (task: TaskSpec | undefined, labels: string[], logits = 'out', outputs?: string[]) => ({
  labels, task, tail: { file: 't.onnx', input: 'f', logits, outputs },
  input: { source: { height: 200, width: 300, channels: 3, dtype: 'uint8' } },
}) as unknown as Manifest;
const one = (data: number[], name = 'out'): Outputs => ({ [name]: { data: Float32Array.from(data), dims: [data.length] } });

test('classification: top-k with labels and softmax confidence; the answer is a varint class and u16 confidence', () => {
  const task = taskFor(ctx({ kind: 'classification', topK: 2 }, ['cat', 'dog', 'bird']));
  const r = task.interpret(one([0.5, 2.5, -1])) as ClassificationResult;
  assert.equal(r.label, 'dog');
  assert.equal(r.index, 1);
  const e = Math.exp;
  assert.ok(Math.abs(r.confidence - e(2.5) / (e(0.5) + e(2.5) + e(-1))) < 1e-9);
  assert.deepEqual(r.top.map((t) => t.label), ['dog', 'cat']);
  const body = task.encodeAnswer(r);
  assert.deepEqual([...body], [1, ...[Math.round(r.confidence * 65535) & 0xff, Math.round(r.confidence * 65535) >> 8]]);
  const back = task.decodeAnswer(body) as ClassificationResult;
  assert.equal(back.label, 'dog');
  assert.ok(Math.abs(back.confidence - r.confidence) < 1 / 65535);
  // A model that ends in Softmax gives probabilities: they are not softmaxed again.
  assert.ok(Math.abs((task.interpret(one([0.2, 0.7, 0.1])) as ClassificationResult).confidence - 0.7) < 1e-6);
  assert.throws(() => task.decodeAnswer(Uint8Array.of(7, 0, 0)), AnswerError, 'class 7 of 3');
  assert.throws(() => task.decodeAnswer(Uint8Array.of(1, 0)), AnswerError);
  const agreement = task.agreement([one([1, 0, 0]), one([0, 1, 0])], [one([1, 0, 0]), one([1, 0.5, 0])]);
  assert.deepEqual(agreement, { measure: 'top1', value: 0.5 });
  assert.equal(task.accuracy!([one([1, 0, 0]), one([0, 1, 0])], [[0], [0]]), 0.5);
});

test('multilabel: per-class sigmoid decisions; the answer lists the positive classes; agreement counts decisions', () => {
  const task = taskFor(ctx({ kind: 'multilabel', threshold: 0.5, activation: 'sigmoid' }, ['a', 'b', 'c', 'd']));
  const r = task.interpret(one([2, -2, 0.1, -0.1])) as MultilabelResult;
  assert.deepEqual(r.positive.map((p) => p.label), ['a', 'c']);
  const back = task.decodeAnswer(task.encodeAnswer(r)) as MultilabelResult;
  assert.deepEqual(back.positive.map((p) => p.index), [0, 2]);
  assert.ok(Math.abs(back.positive[0].probability - 1 / (1 + Math.exp(-2))) < 1e-4);
  // One decision of eight differs.
  assert.deepEqual(task.agreement([one([2, -2, 0.1, -0.1]), one([1, 1, 1, 1])], [one([2, -2, -0.1, -0.1]), one([1, 1, 1, 1])]), { measure: 'decision', value: 7 / 8 });
  assert.throws(() => task.decodeAnswer(Uint8Array.of(200)), AnswerError, 'a count the bytes cannot hold');
});

test('NMS keeps the best box of a cluster per class; IoU of boxes', () => {
  assert.equal(iou([0, 0, 2, 2], [1, 1, 3, 3]), 1 / 7);
  const kept = nms([
    { box: [0, 0, 10, 10], index: 1, score: 0.9 }, { box: [1, 1, 10, 10], index: 1, score: 0.8 },
    { box: [1, 1, 10, 10], index: 2, score: 0.7 }, { box: [50, 50, 60, 60], index: 1, score: 0.6 },
  ], 0.45, 10);
  assert.deepEqual(kept.map((k) => k.score), [0.9, 0.7, 0.6]);
});

test('detection: boxes [K,4] + scores [K,C] → thresholded, NMS-ed boxes with labels; compact answer; matched-box agreement', () => {
  const spec: TaskSpec = { kind: 'detection', boxes: 'boxes', scores: 'scores', boxFormat: 'cxcywh', normalized: false, scoreActivation: 'none', background: 0, scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 10 };
  const task = taskFor(ctx(spec, ['bg', 'person', 'car'], 'scores', ['boxes', 'scores']));
  const out = (boxes: number[][], scores: number[][]): Outputs => ({
    boxes: { data: Float32Array.from(boxes.flat()), dims: [boxes.length, 4] },
    scores: { data: Float32Array.from(scores.flat()), dims: [scores.length, 3] },
  });
  const original = out([[50, 50, 20, 20], [51, 50, 20, 20], [200, 100, 40, 60], [10, 10, 5, 5]], [[0.1, 0.9, 0], [0.1, 0.8, 0], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]]);
  const r = task.interpret(original) as DetectionResult;
  assert.deepEqual(r.detections.map((d) => [d.label, d.box]), [['person', [40, 40, 60, 60]], ['car', [180, 70, 220, 130]]], 'duplicate suppressed, background ignored, cx/cy/w/h → x1/y1/x2/y2');
  const back = task.decodeAnswer(task.encodeAnswer(r)) as DetectionResult;
  assert.equal(back.detections.length, 2);
  back.detections.forEach((d, i) => d.box.forEach((v, k) => assert.ok(Math.abs(v - r.detections[i].box[k]) < 0.01, `box ${i}[${k}] ${v}`)));
  assert.equal(task.decodeAnswer(task.encodeAnswer({ kind: 'detection', detections: [] })).kind, 'detection');
  // The split moves the car far away: the person still matches, the car does not (2·1 / (2 + 2)).
  const moved = out([[50, 50, 20, 20], [51, 50, 20, 20], [280, 180, 40, 60], [10, 10, 5, 5]], [[0.1, 0.9, 0], [0.1, 0.8, 0], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]]);
  assert.deepEqual(task.agreement([original], [moved]), { measure: 'boxes@0.5', value: 0.5 });
  assert.deepEqual(task.agreement([original], [original]), { measure: 'boxes@0.5', value: 1 });
  assert.throws(() => task.decodeAnswer(Uint8Array.of(1, 1, 0)), AnswerError);
});

test('tensors: every output with its dims, float32 both ways; agreement is the max abs error', () => {
  const task = taskFor(ctx({ kind: 'tensors' }, [], 'a', ['a', 'b']));
  const o: Outputs = { a: { data: Float32Array.of(1.5, -2), dims: [2] }, b: { data: Float32Array.of(0.25, 1, 2, 3), dims: [2, 2] } };
  const r = task.interpret(o) as TensorsResult;
  assert.deepEqual(r.outputs.b, { dims: [2, 2], data: [0.25, 1, 2, 3] });
  assert.deepEqual(task.decodeAnswer(task.encodeAnswer(r)), r);
  const off: Outputs = { ...o, b: { data: Float32Array.of(0.25, 1, 2, 3.5), dims: [2, 2] } };
  assert.deepEqual(task.agreement([o], [off]), { measure: 'maxAbsError', value: 0.5 });
  assert.throws(() => task.decodeAnswer(Uint8Array.of(1, 100, 0)), AnswerError, 'dims larger than the body');
});
