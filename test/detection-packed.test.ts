// Packed detection outputs, as YOLO exports write them: one tensor of candidates × (4 box
// values [+ objectness] + C class scores), channels-first in YOLOv8/v11 ([4 + C, K]) and
// row-major in YOLOv5/v7 ([K, 5 + C]). The layout is read from the tensor, and the decode is
// checked against a hand decode of the original model's output, not only against itself.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../lib/model';
import { decodeImage, imageToInput } from '../lib/model/image-input';
import { taskFor, DetectionResult } from '../lib/task';
import type { Manifest } from '../lib/model/manifest';
import type { CandidateTensor, SplitReport } from '../lib/split';
import type { TaskEvalReport } from '../lib/eval/task-eval';
import { repoRoot } from './support/onnx-build';
import { renderScenes } from './support/scenes';
import { splitDnnJson } from './support/cli';
import { tempDir } from './support/paths';

const MODEL = path.join(repoRoot(), 'test', 'models', 'yolo.onnx');
const work = tempDir('yolo');
const cal = path.join(work, 'calibration');
const held = path.join(work, 'held-out');

before(() => {
  renderScenes(cal, 24, 21);
  renderScenes(held, 16, 22);
});

type Ctx = Pick<Manifest, 'labels' | 'tail' | 'task' | 'input'>;
const context = (packed: { transposed: boolean; objectness: boolean }, classes: number): Ctx => ({
  labels: Array.from({ length: classes }, (_, i) => `c${i}`),
  tail: { file: 't.onnx', input: 'x', logits: 'p', outputs: ['p'] } as Ctx['tail'],
  task: { kind: 'detection', boxes: 'p', scores: 'p', packed, boxFormat: 'cxcywh', normalized: false, scoreActivation: 'none', scoreThreshold: 0.3, iouThreshold: 0.45, maxDetections: 100 },
  input: { source: { width: 640, height: 640 } } as Ctx['input'],
});

test('rows with objectness and channels-first without: the same candidates give the same detections', () => {
  // Three candidates, two classes: [cx, cy, w, h, obj, c0, c1]. The second is suppressed by
  // NMS (same class, overlapping), the third by its objectness (0.9 · 0.2 < 0.3).
  const rows = [[100, 100, 50, 50, 0.9, 0.1, 0.8], [104, 102, 50, 50, 0.8, 0.1, 0.7], [400, 300, 80, 40, 0.2, 0.9, 0.1]];
  const v5 = taskFor(context({ transposed: false, objectness: true }, 2));
  const r5 = v5.interpret({ p: { data: Float32Array.from(rows.flat()), dims: [3, 7] } }) as DetectionResult;
  assert.deepEqual(r5.detections.map((d) => [d.index, +d.score.toFixed(3), d.box.map((x) => Math.round(x))]), [[1, 0.72, [75, 75, 125, 125]]]);

  // Without objectness, channels-first: the third candidate now scores 0.9 for class 0.
  const noObj = rows.map((r) => [...r.slice(0, 4), ...r.slice(5)]);
  const transposed = Float32Array.from(Array.from({ length: 6 }, (_, j) => noObj.map((r) => r[j])).flat());
  const v8 = taskFor(context({ transposed: true, objectness: false }, 2));
  const r8 = v8.interpret({ p: { data: transposed, dims: [1, 6, 3] } }) as DetectionResult;
  assert.deepEqual(r8.detections.map((d) => [d.index, +d.score.toFixed(2)]), [[0, 0.9], [1, 0.8]]);
  assert.deepEqual(r8.detections[0].box.map((x) => Math.round(x)), [360, 280, 440, 320]);
  const back = v8.decodeAnswer(v8.encodeAnswer(r8)) as DetectionResult;
  assert.deepEqual(back.detections.map((d) => d.index), [0, 1]);
  assert.ok(Math.abs(back.detections[0].box[0] - 360) < 0.02, 'pixel boxes travel as fractions of the input');
  assert.throws(() => v8.interpret({ p: { data: new Float32Array(12), dims: [1, 4, 3] } }), /at least one class/);
});

test('YOLOv8-style export (one [N, 4 + C, K] output): split detects packed detection; its answers match a hand decode of the original', async () => {
  const list = splitDnnJson<CandidateTensor[]>('split', '--model', MODEL, '--list');
  const cut = list.filter((c) => !c.crossing && !c.unused && !c.refused && c.type === 'float32' && c.dims.length === 4 && c.dims[2] > 1)
    .reduce((best, c) => (c.float32Bytes! <= best.float32Bytes! ? c : best));
  const out = path.join(work, 'bundle');
  const report = splitDnnJson<SplitReport>('split', '--model', MODEL, '--at', cut.name, '--calibrate', cal, '--out', out,
    '--mean', '0,0,0', '--std', '1,1,1', '--resize', 'letterbox', '--pad', '114');
  assert.equal(report.task, 'detection');
  const bundle = await loadBundle(out);
  const m = bundle.manifest;
  assert.deepEqual(m.task, { kind: 'detection', boxes: 'output0', scores: 'output0', packed: { transposed: true, objectness: false }, boxFormat: 'cxcywh', normalized: false, scoreActivation: 'none', scoreThreshold: 0.3, iouThreshold: 0.45, maxDetections: 100 });
  assert.equal(m.labels.length, 4, 'classes = 8 values per candidate − 4 box values');
  assert.equal(report.float.measure, 'boxes@0.5');
  assert.equal(report.float.value, 1);

  // The best candidate of the original model, decoded here by hand from [1, 8, K].
  const session = await ort.InferenceSession.create(MODEL);
  const task = taskFor(m);
  let checked = 0;
  for (const file of fs.readdirSync(held).slice(0, 6)) {
    const input = imageToInput(m, decodeImage(fs.readFileSync(path.join(held, file))));
    const raw = (await session.run({ images: new ort.Tensor('float32', input, [1, 3, 224, 224]) })).output0;
    const [, width, anchors] = raw.dims as number[];
    const data = raw.data as Float32Array;
    let best = { score: 0, k: -1, c: -1 };
    for (let k = 0; k < anchors; k++) for (let c = 0; c < width - 4; c++) {
      const s = data[(4 + c) * anchors + k];
      if (s > best.score) best = { score: s, k, c };
    }
    const result = task.interpret({ output0: { data, dims: [width, anchors] } }) as DetectionResult;
    if (best.score < 0.3) { assert.equal(result.detections.length, 0); continue; }
    const [cx, cy, w, h] = [0, 1, 2, 3].map((j) => data[j * anchors + best.k]);
    const top = result.detections[0];
    assert.equal(top.index, best.c, file);
    assert.ok(Math.abs(top.score - best.score) < 1e-6, file);
    top.box.forEach((v, i) => assert.ok(Math.abs(v - [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2][i]) < 1e-3, `${file} box ${i}`));
    checked++;
  }
  assert.ok(checked >= 2, `${checked} images had a detection to compare`);

  const figures = splitDnnJson<{ heldOut: TaskEvalReport }>('eval', '--bundle', out, '--images', held).heldOut;
  console.log(JSON.stringify({ cut: cut.name, dims: cut.dims, comparedWithHandDecode: checked, heldOut: { perImage: figures.answers.perImage, agreement: figures.rates[0].agreement, codedBytes: figures.rates[0].codedBytes } }));
  assert.equal(figures.rates[0].agreement.measure, 'boxes@0.5');
  assert.ok(figures.answers.perImage >= 1 && figures.answers.perImage < 50, `boxes per image ${figures.answers.perImage}`);
  assert.ok(figures.rates[0].agreement.value >= 0.85, `held-out box agreement ${figures.rates[0].agreement.value}`);
});
