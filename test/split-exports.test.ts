// The five test models in the shapes real exporters write (test/models/make_models.py), each
// through `split-dnn split --list`, `split` on rendered photo-sized images, and `eval
// --images` on other, held-out images: what a user bringing a PyTorch, TensorFlow or Paddle
// export does first.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadBundle } from '../lib/model';
import { decodeImage, imageToInput } from '../lib/model/image-input';
import type { CandidateTensor, SplitReport } from '../lib/split';
import type { TaskEvalReport } from '../lib/eval/task-eval';
import { repoRoot } from './support/onnx-build';
import { renderScenes } from './support/scenes';
import { splitDnn, splitDnnJson } from './support/cli';
import { tempDir } from './support/paths';

const MODELS = path.join(repoRoot(), 'test', 'models');
const model = (name: string) => path.join(MODELS, `${name}.onnx`);
const work = tempDir('split-exports');
const cal = path.join(work, 'calibration');
const held = path.join(work, 'held-out');
const IMAGENET = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];

before(() => {
  renderScenes(cal, 32, 11);
  renderScenes(held, 16, 12);
});

/** The cut a user would pick from the list: a spatial float tensor that separates the graph, the smallest such (the latest on ties). */
function pickCut(list: CandidateTensor[]): CandidateTensor {
  const ok = list.filter((c) => !c.crossing && !c.unused && !c.refused && c.type === 'float32' && c.dims.length === 4 && c.dims[2] > 1);
  assert.ok(ok.length > 0, 'some cut works');
  return ok.reduce((best, c) => (c.float32Bytes! <= best.float32Bytes! ? c : best));
}

function split(name: string, at: string, ...extra: string[]): { report: SplitReport; out: string } {
  const out = path.join(work, name);
  return { report: splitDnnJson<SplitReport>('split', '--model', model(name), '--at', at, '--calibrate', cal, '--out', out, ...IMAGENET, ...extra), out };
}

function heldOut(bundle: string): TaskEvalReport {
  return splitDnnJson<{ heldOut: TaskEvalReport }>('eval', '--bundle', bundle, '--images', held, '--update-manifest').heldOut;
}

async function checkHeldOutRecorded(bundle: string, figures: TaskEvalReport): Promise<void> {
  const m = (await loadBundle(bundle)).manifest;
  assert.match(String(m.measured?.dataset), /^calibration: 32 images from /);
  const recorded = m.measured?.heldOut as { dataset: string; count: number };
  assert.equal(recorded.count, 16);
  assert.match(recorded.dataset, /^held-out: 16 images from .*held-out$/);
  assert.equal((m.rates[0].measured?.heldOut as { agreement: unknown }).agreement !== undefined, true);
  assert.equal(figures.count, 16);
}

test('MobileNetV2-style classifier, dynamic N/H/W: --input-shape fixes the size; split and held-out eval agree with the original', async () => {
  const refused = splitDnn('split', '--model', model('classifier'), '--list');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /input "image" has shape \[N, 3, H, W\] with dynamic axes 2 \(H\), 3 \(W\): give the size to run at with --input-shape/);
  const list = splitDnnJson<CandidateTensor[]>('split', '--model', model('classifier'), '--list', '--input-shape', '3,224,224');
  assert.ok(list.some((c) => c.crossing && c.op === 'Conv'), 'cuts inside an inverted residual are refused');
  const cut = pickCut(list);
  const { report, out } = split('classifier', cut.name, '--input-shape', '3,224,224', '--resize', 'crop');
  assert.equal(report.task, 'classification');
  assert.equal(report.keptSamples, Math.floor((2 * 1024 * 1024) / (3 * 224 * 224)), 'a 2 MiB sample set, not all 32 images');
  assert.deepEqual(report.input, { shape: [-1, 3, 224, 224], layout: 'nchw', layoutFrom: 'shape', batch: 'dynamic', color: 'rgb' });
  assert.equal(report.float.value, 1);
  assert.ok(report.quantized.value >= 0.9, `8-bit top-1 agreement ${report.quantized.value}`);
  assert.ok(report.bytes.coded < report.bytes.raw8bit);
  const figures = heldOut(out);
  assert.equal(figures.rates[0].agreement.measure, 'top1');
  assert.ok(figures.rates[0].agreement.value >= 0.85, `held-out agreement ${figures.rates[0].agreement.value}`);
  assert.ok(figures.answers.distinctAnswers >= 2, 'the model answers differently for different images');
  await checkHeldOutRecorded(out, figures);
});

test('eval --labels: accuracy on held-out images against a labels file; labels from the original model give the unsplit bundle 100 %, shifted ones 0 %', async () => {
  const bundle = path.join(work, 'classifier');
  const m = (await loadBundle(bundle)).manifest;
  const session = await ort.InferenceSession.create(model('classifier'));
  const files = fs.readdirSync(held).sort();
  const top1: number[] = [];
  for (const f of files) {
    const x = imageToInput(m, decodeImage(fs.readFileSync(path.join(held, f))));
    const logits = (await session.run({ image: new ort.Tensor('float32', x, [1, 3, 224, 224]) })).logits.data as Float32Array;
    top1.push(logits.indexOf(Math.max(...logits)));
  }
  const labelsFile = (name: string, shift: number) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, files.map((f, i) => `${f} ${m.labels[(top1[i] + shift) % m.labels.length]}`).join('\n'));
    return file;
  };
  const right = splitDnnJson<{ heldOut: TaskEvalReport }>('eval', '--bundle', bundle, '--images', held, '--labels', labelsFile('labels.txt', 0)).heldOut;
  assert.equal(right.unsplitAccuracy, 1);
  assert.equal(right.rates[0].accuracy, right.rates[0].agreement.value, 'against the original answers, accuracy is agreement');
  const wrong = splitDnnJson<{ heldOut: TaskEvalReport }>('eval', '--bundle', bundle, '--images', held, '--labels', labelsFile('shifted.txt', 1)).heldOut;
  assert.equal(wrong.unsplitAccuracy, 0);
});

test('the same network behind NHWC, batch fixed at 1, weights in Constant nodes (tf2onnx): layout detected, runs frame by frame, same answers', async () => {
  const list = splitDnn('split', '--model', model('classifier-nhwc'), '--list');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /input "input_1" \[1, 224, 224, 3\] nhwc \(from the transpose\), batch fixed at 1/);
  const cut = pickCut(splitDnnJson<CandidateTensor[]>('split', '--model', model('classifier-nhwc'), '--list'));
  const { report, out } = split('classifier-nhwc', cut.name, '--resize', 'crop');
  assert.deepEqual(report.input, { shape: [1, 224, 224, 3], layout: 'nhwc', layoutFrom: 'transpose', batch: 1, color: 'rgb' });
  const m = (await loadBundle(out)).manifest;
  assert.equal(m.input.batch, 1);
  assert.deepEqual(m.input.source, { height: 224, width: 224, channels: 3, dtype: 'uint8' });
  const params = m.measured as { headParams: number; tailParams: number };
  assert.ok(params.headParams > 1000 && params.tailParams > 1000, `Constant-node weights are counted: ${params.headParams} + ${params.tailParams}`);
  const figures = heldOut(out);
  assert.ok(figures.rates[0].agreement.value >= 0.85, `held-out agreement ${figures.rates[0].agreement.value}`);

  // Both exports hold the same weights: an image prepared by each bundle's manifest gives the same logits.
  const nchw = (await loadBundle(path.join(work, 'classifier'))).manifest;
  const img = decodeImage(fs.readFileSync(path.join(held, 'scene-001.png')));
  const [a, b] = await Promise.all([['classifier', nchw, [1, 3, 224, 224]], ['classifier-nhwc', m, [1, 224, 224, 3]]].map(async ([name, man, dims]) => {
    const s = await ort.InferenceSession.create(model(name as string));
    const x = imageToInput(man as typeof m, img);
    const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims as number[]) });
    return r[s.outputNames[0]].data as Float32Array;
  }));
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-3, `logit ${i}: ${v} vs ${b[i]}`));
});

test('SSD-style detector: boxes [N,K,4] + scores [N,K,C] become a detection task; boxes matched at IoU 0.5 on held-out images', async () => {
  const list = splitDnnJson<CandidateTensor[]>('split', '--model', model('detector'), '--list');
  const { report, out } = split('detector', pickCut(list).name, '--resize', 'letterbox', '--pad', '114', '--background', '0');
  assert.equal(report.task, 'detection');
  const m = (await loadBundle(out)).manifest;
  assert.deepEqual(m.tail.outputs, ['boxes', 'scores']);
  assert.equal(m.task?.kind, 'detection');
  assert.deepEqual(m.task && 'boxes' in m.task ? [m.task.boxes, m.task.scores, m.task.scoreActivation, m.task.background] : null, ['boxes', 'scores', 'none', 0]);
  assert.deepEqual([m.input.preprocess.resize, m.input.preprocess.pad], ['letterbox', 114]);
  assert.equal(report.float.measure, 'boxes@0.5');
  assert.equal(report.float.value, 1);
  const figures = heldOut(out);
  assert.equal(figures.rates[0].agreement.measure, 'boxes@0.5');
  assert.ok(figures.answers.perImage >= 1 && figures.answers.perImage < 50, `boxes per image ${figures.answers.perImage}`);
  assert.ok(figures.rates[0].agreement.value >= 0.85, `held-out box agreement ${figures.rates[0].agreement.value}`);
  await checkHeldOutRecorded(out, figures);
});

test('multi-label sigmoid model with dims named "-1" (paddle2onnx): a Sigmoid output is multilabel, measured by decisions', async () => {
  const refused = splitDnn('split', '--model', model('multilabel'), '--list');
  assert.match(refused.err, /dynamic axes 2 \(-1\), 3 \(-1\)/);
  const cut = pickCut(splitDnnJson<CandidateTensor[]>('split', '--model', model('multilabel'), '--list', '--input-shape', '1,3,224,224'));
  const { report, out } = split('multilabel', cut.name, '--input-shape', '3,224,224');
  assert.equal(report.task, 'multilabel');
  assert.equal(report.float.measure, 'decision');
  const figures = heldOut(out);
  assert.equal(figures.rates[0].agreement.measure, 'decision');
  assert.ok(figures.answers.distinctAnswers >= 2 && figures.answers.perImage > 0 && figures.answers.perImage < 8, `answers ${JSON.stringify(figures.answers)}`);
  assert.ok(figures.rates[0].agreement.value >= 0.9, `decision agreement ${figures.rates[0].agreement.value}`);
});

test('FPN (Resize + Concat): cuts inside the pyramid are refused naming the crossing tensors, before any sample is read; a dense output is a tensors task', async () => {
  const list = splitDnnJson<CandidateTensor[]>('split', '--model', model('fpn'), '--list');
  const inside = list.find((c) => c.op === 'Resize')!;
  assert.ok(inside.crossing && inside.crossing.length > 0, 'a Resize of the top-down path needs a lateral tensor too');
  const refused = splitDnn('split', '--model', model('fpn'), '--at', inside.name, '--calibrate', path.join(work, 'no-such-samples'), '--out', path.join(work, 'x'));
  assert.equal(refused.code, 1);
  assert.ok(refused.err.includes(`the tail also needs ${inside.crossing!.map((n) => `"${n}"`).join(', ')}`), refused.err);
  assert.doesNotMatch(refused.err, /no-such-samples/, 'refused from the graph alone');
  const { report, out } = split('fpn', pickCut(list).name);
  assert.equal(report.task, 'tensors');
  assert.equal(report.float.maxAbsError, 0);
  const figures = heldOut(out);
  assert.equal(figures.rates[0].agreement.measure, 'maxAbsError');
  assert.ok(figures.rates[0].maxAbsError > 0 && figures.rates[0].maxAbsError < 0.5, `8-bit max abs error ${figures.rates[0].maxAbsError}`);
});
