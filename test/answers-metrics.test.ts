// Answers of every task (classification, multilabel, detection, tensors) reach the
// dashboard and /metrics: scored against labels (accuracy) or the original model's answers
// (agreement), with objects and labels counted; split-stats in Node-RED shows them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import { FleetStats, outcomeOf, judge, answerFigures, fleetOfProcess } from '../lib/metrics';
import { parsePrometheus, sampleValue } from './support/prometheus';
import { helper, startRed, stopRed, loadFlow, Collector, tab, catcher } from './support/red';

const cls = (index: number) => ({ kind: 'classification', index, label: `c${index}`, confidence: 0.8, top: [] });
const multi = (...index: number[]) => ({ kind: 'multilabel', positive: index.map((i) => ({ index: i, label: `c${i}`, probability: 0.9 })) });
const det = (...boxes: Array<[number, number, number, number, number]>) =>
  ({ kind: 'detection', detections: boxes.map(([x1, y1, x2, y2, index]) => ({ box: [x1, y1, x2, y2], index, label: `c${index}`, score: 0.7 })) });
const tensors = { kind: 'tensors', outputs: { y: { dims: [2], data: [0.5, 1.5] } } };

test('outcomeOf: every task scored against its kind of truth', () => {
  assert.equal(outcomeOf(2, cls(2)), 'correct');
  assert.equal(outcomeOf('c3', cls(2)), 'wrong');
  assert.equal(outcomeOf(2, { index: 2, label: 'x', confidence: 1 }), 'correct', 'an answer without kind is a classification');
  assert.equal(outcomeOf([1, 'c4'], multi(4, 1)), 'correct', 'the same set of labels, any order, index or name');
  assert.equal(outcomeOf([1], multi(1, 4)), 'wrong');
  assert.equal(outcomeOf(multi(0, 2), multi(2, 0)), 'correct', "another model's multilabel answer as the reference");
  const ref = det([0, 0, 10, 10, 1], [20, 20, 40, 40, 2]);
  assert.equal(outcomeOf(ref.detections, det([21, 19, 41, 40, 2], [1, 0, 10, 11, 1])), 'correct', 'boxes matched at IoU ≥ 0.5, same class');
  assert.equal(outcomeOf(ref, det([0, 0, 10, 10, 1], [30, 30, 50, 50, 2])), 'wrong', 'a box moved too far');
  assert.equal(outcomeOf(ref, det([0, 0, 10, 10, 1], [20, 20, 40, 40, 3])), 'wrong', 'the wrong class');
  assert.equal(outcomeOf(2, det([0, 0, 1, 1, 0])), 'wrong', 'an object count');
  assert.equal(outcomeOf(1, tensors), 'unlabelled', 'raw tensors have no right answer');
  assert.equal(outcomeOf(undefined, det()), 'unlabelled');
  assert.equal(outcomeOf(1, { error: 'no decoder' }), 'error');
  assert.equal(judge(cls(2), { label: 2, labelsAreOriginal: true }), 'agree', "labels that are the original's answers measure agreement");
  assert.equal(judge(cls(2), { label: 2, reference: 3 }), 'disagree', 'msg.reference is the original model');
  assert.equal(judge(cls(2), { label: 2 }), 'correct');
  assert.deepEqual(answerFigures(det([0, 0, 1, 1, 0], [2, 2, 3, 3, 1])), { kind: 'detection', objects: 2 });
  assert.deepEqual(answerFigures(multi(1, 2, 3)), { kind: 'multilabel', positives: 3 });
  assert.deepEqual(answerFigures(tensors), { kind: 'tensors' });
});

test('FleetStats: objects and labels per answer, agreement apart from accuracy, counters by task', async () => {
  const fleet = new FleetStats();
  const now = 1_000_000;
  const seen = (answer: Record<string, unknown>, by: Parameters<typeof judge>[1]) => ({ outcome: judge(answer, by), figures: answerFigures(answer), latencyMs: 30 });
  fleet.answer('gw-d', seen(det([0, 0, 1, 1, 0], [2, 2, 3, 3, 1], [5, 5, 6, 6, 1]), {}), now);
  fleet.answer('gw-d', seen(det([0, 0, 1, 1, 0]), { reference: det([0, 0, 1, 1, 0]) }), now);
  fleet.answer('gw-d', seen(det(), { reference: det([0, 0, 1, 1, 0]) }), now);
  fleet.answer('gw-m', seen(multi(1, 2), { label: [1, 2] }), now);
  fleet.answer('gw-m', seen(multi(1), { label: [1, 2] }), now);
  fleet.answer('gw-t', seen(tensors, { label: 1 }), now);
  fleet.exit('gw-c', { ...seen(cls(1), { label: 1, labelsAreOriginal: true }), threshold: 0.5 }, now);
  const rows = Object.fromEntries(fleet.summary(10, now + 500).map((r) => [r.gateway, r]));
  assert.equal(rows['gw-d'].task, 'detection');
  assert.equal(rows['gw-d'].objectsPerAnswer, 4 / 3);
  assert.equal(rows['gw-d'].agreement, 1 / 2);
  assert.equal(rows['gw-d'].accuracy, null, 'no labels: no accuracy');
  assert.equal(rows['gw-m'].labelsPerAnswer, 3 / 2);
  assert.equal(rows['gw-m'].accuracy, 1 / 2);
  assert.equal(rows['gw-t'].task, 'tensors');
  assert.equal(rows['gw-t'].accuracy, null);
  assert.equal(rows['gw-c'].agreement, 1);
  assert.equal(rows['gw-c'].accuracy, null);
  const m = parsePrometheus(await fleet.registry.metrics());
  assert.equal(sampleValue(m, 'split_dnn_detected_objects_total', { gateway: 'gw-d', source: 'cloud' }), 4);
  assert.equal(sampleValue(m, 'split_dnn_positive_labels_total', { gateway: 'gw-m', source: 'cloud' }), 3);
  assert.equal(sampleValue(m, 'split_dnn_task_results_total', { gateway: 'gw-t', source: 'cloud', task: 'tensors' }), 1);
  assert.equal(sampleValue(m, 'split_dnn_results_total', { gateway: 'gw-d', source: 'cloud', outcome: 'disagree' }), 1);
  assert.equal(sampleValue(m, 'split_dnn_results_total', { gateway: 'gw-c', source: 'edge', outcome: 'agree' }), 1);
});

after(() => stopRed());

test('split-stats: answers of every task from mqtt-transmit reach the table and /metrics', async () => {
  await startRed();
  fleetOfProcess().clear();
  const outputs = ['fps', 'exit', 'bytes', 'latency', 'accuracy', 'outbox', 'table', 'threshold', 'rate'];
  await loadFlow([tab, ...catcher,
    { id: 'stats', type: 'split-stats', z: 'f1', model: '', gateway: 'gw-x', watch: 'edge', link: '', interval: '0.25', window: '5', path: '', wires: outputs.map((id) => [id]) },
    ...outputs.map((id) => ({ id, type: 'helper', z: 'f1' }))]);
  const table = new Collector('table');
  const stats = helper.getNode('stats');
  const fromLink = (gateway: string, payload: object, extra: object = {}): NodeMessage =>
    ({ payload: { ...payload, source: 'cloud' }, frame: { gateway, seq: 0, kind: 'result' }, latencyMs: 25, ...extra } as NodeMessage);
  stats.receive(fromLink('gw-det', det([0, 0, 1, 1, 0], [1, 1, 2, 2, 0]), { reference: det([0, 0, 1, 1, 0], [1, 1, 2, 2, 0]) }));
  stats.receive(fromLink('gw-multi', multi(3), { label: [3] }));
  stats.receive(fromLink('gw-raw', tensors));
  const [msg] = await table.wait(1);
  const rows = Object.fromEntries((msg.payload as Array<Record<string, unknown>>).map((r) => [r.gateway, r]));
  assert.equal(rows['gw-det'].task, 'detection');
  assert.equal(rows['gw-det']['objects/answer'], 2);
  assert.equal(rows['gw-det']['agreement %'], 100);
  assert.equal(rows['gw-multi']['labels/answer'], 1);
  assert.equal(rows['gw-multi']['accuracy %'], 100);
  assert.equal(rows['gw-raw'].task, 'tensors');
  const m = parsePrometheus(await fleetOfProcess().registry.metrics());
  assert.equal(sampleValue(m, 'split_dnn_detected_objects_total', { gateway: 'gw-det', source: 'cloud' }), 2);
  assert.equal(sampleValue(m, 'split_dnn_task_results_total', { gateway: 'gw-raw', source: 'cloud', task: 'tensors' }), 1);
  assert.equal(new Collector('caught').messages.length, 0);
});
