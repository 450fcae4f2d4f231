// split-dnn split on the project's own full model: head.onnx and tail.onnx of the shipped
// bundle composed into one ONNX graph, then cut again at the split tensor. The bundle it
// writes must load with lib/model, run through lib/codec and the nodes, and agree with the
// original model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { splitModel, SplitReport } from '../lib/split';
import { ModelRuntime, loadBundle, readSamples, preprocessPixels, sampleImage } from '../lib/model';
import { RateCodec } from '../lib/codec/rate-codec';
import { encodeFrame, decodeFrame } from '../lib/wire';
import { argmax } from '../lib/exit/policy';
import { composeHeadTail, readOnnx, repoRoot, saveOnnx } from './support/onnx-build';
import { tempDir } from './support/paths';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';

const SHIPPED = path.join(repoRoot(), 'models', 'fmnist-cnn');
const work = tempDir('split-fmnist');
const fullModel = path.join(work, 'fmnist-full.onnx');
const out = path.join(work, 'bundle');
let report: SplitReport;
let rt: ModelRuntime;

/** The original (unsplit) model's logits, straight from onnxruntime. */
async function originalLogits(input: Float32Array, n: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(fullModel);
  try {
    const result = await session.run({ input: new ort.Tensor('float32', input, [n, 1, 28, 28]) });
    return result.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

before(async () => {
  saveOnnx(fullModel, composeHeadTail(readOnnx(path.join(SHIPPED, 'head.onnx')), readOnnx(path.join(SHIPPED, 'tail.onnx')), 'features', 'logits'));
  report = await splitModel({ model: fullModel, at: 'features', calibrate: SHIPPED, out });
  rt = await ModelRuntime.open(out, { workers: 1 });
});
after(async () => { await rt?.close(); });

test('the composed full model is one graph that is neither the head nor the tail', () => {
  const full = readOnnx(fullModel);
  assert.deepEqual(full.graph!.input.map((v) => v.name), ['input']);
  assert.deepEqual(full.graph!.output.map((v) => v.name), ['logits']);
  assert.ok(full.graph!.node.some((n) => n.output.includes('features')), 'features is an inner tensor');
});

test('head then tail reproduces the original exactly in float32, and within 1% of answers at 8 bits', () => {
  assert.equal(report.count, 1000);
  assert.deepEqual(report.splitShape, [64, 7, 7]);
  assert.equal(report.float.argmaxAgreement, 1);
  assert.ok(report.float.maxAbsError < 1e-4, `float max abs error ${report.float.maxAbsError}`);
  assert.ok(report.quantized.argmaxAgreement! >= 0.99, `8-bit agreement ${report.quantized.argmaxAgreement}`);
  assert.ok(report.quantized.maxAbsError > 0, '8 bits are not lossless: the error must show');
  assert.ok(Math.abs(report.quantized.accuracy! - report.originalAccuracy!) <= 0.01, `accuracy ${report.quantized.accuracy} vs ${report.originalAccuracy}`);
  // The head drops the exit branch the composed graph still carries (dead for "logits").
  assert.equal(report.headNodes, 10);
  assert.equal(report.tailNodes, 7);
});

test('the bundle is complete: hashes verify, 8-bit quantizer and tables from the samples, measured figures, no exit', async () => {
  const b = await loadBundle(out);
  const m = b.manifest;
  for (const f of ['head.onnx', 'tail.onnx', 'enc0.onnx', 'dec0.onnx', 'samples/images.u8', 'samples/labels.u8']) assert.ok(f in m.files, f);
  assert.equal(m.exit, undefined);
  assert.equal(m.head.exitLogits, undefined);
  assert.deepEqual(m.labels, JSON.parse(fs.readFileSync(path.join(SHIPPED, 'manifest.json'), 'utf8')).labels);
  assert.equal(m.rates.length, 1);
  const r = m.rates[0];
  assert.deepEqual(r.symbolShape, [64, 7, 7]);
  assert.equal(r.quant.max - r.quant.min, 255, '256 levels');
  assert.equal(r.quant.min, 0, 'a ReLU/MaxPool tensor starts at 0');
  assert.equal(r.entropy.channels.length, 64);
  const total = r.entropy.channels.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0);
  assert.equal(total, 1000 * 64 * 49, 'every calibration symbol is counted');
  assert.equal(r.measured?.argmaxAgreement, report.quantized.argmaxAgreement);
  assert.equal(m.measured?.unsplitAccuracy, report.originalAccuracy);
  assert.ok(report.bytes.coded < report.bytes.raw8bit && report.bytes.raw8bit * 4 === report.bytes.float32);
});

test('the split head gives the shipped head\'s features, and head → 8-bit code → decode → tail gives the original\'s answers', async () => {
  const set = await readSamples(rt.bundle);
  const n = 200;
  const input = preprocessPixels(rt.manifest, set.images.subarray(0, n * set.pixelsPerImage), n);
  const shipped = await ModelRuntime.open(SHIPPED, { workers: 1 });
  let shippedFeatures: Float32Array;
  try { shippedFeatures = (await shipped.head(input, n)).features; } finally { await shipped.close(); }
  const head = await rt.head(input, n);
  assert.equal(head.exitLogits, null);
  assert.equal(head.features.length, shippedFeatures.length);
  let featureError = 0;
  for (let i = 0; i < head.features.length; i++) featureError = Math.max(featureError, Math.abs(head.features[i] - shippedFeatures[i]));
  assert.ok(featureError < 1e-5, `split head vs shipped head: max abs ${featureError}`);

  const codec = new RateCodec(rt.manifest.rates[0]);
  const latent = await rt.encode(0, head.features, n);
  const restored = new Float32Array(latent.length);
  for (let i = 0; i < n; i++) {
    const coded = codec.encode(latent.subarray(i * codec.symbolCount, (i + 1) * codec.symbolCount));
    // Through a real wire frame, as between a gateway and a tail.
    const frame = decodeFrame(encodeFrame({ kind: 'features', rateLevel: 0, modelId: rt.modelId, gatewayId: 'gw', bootId: 1, seq: i, timestampMs: 0, shape: codec.shape, payload: coded.payload }));
    restored.set(codec.decode(frame.payload), i * codec.symbolCount);
  }
  const logits = await rt.tail(await rt.decode(0, restored, n), n);
  const want = await originalLogits(input, n);
  let same = 0;
  for (let i = 0; i < n; i++) if (argmax(logits, i * 10, 10) === argmax(want, i * 10, 10)) same++;
  assert.ok(same / n >= 0.99, `${same}/${n} answers agree`);
});

test('the nodes run the split bundle: every frame passes the gate (no exit) and the tail answers as the original', async () => {
  await startRed();
  try {
    await loadFlow([tab, modelNode(out),
      { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['gate']] },
      { id: 'gate', type: 'early-exit-gate', z: 'f1', model: 'model', mode: 'threshold', threshold: '0', wires: [['exited'], ['enc']] },
      { id: 'enc', type: 'bottleneck-encode', z: 'f1', model: 'model', rate: '0', gateway: 'gw-split', link: '', wires: [['tail']] },
      { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model', wires: [['answers']] },
      { id: 'exited', type: 'helper', z: 'f1' }, { id: 'answers', type: 'helper', z: 'f1' }, ...catcher]);
    await modelReady();
    const answers = new Collector('answers');
    const exited = new Collector('exited');
    const caught = new Collector('caught');
    const set = await readSamples(rt.bundle);
    const n = 20;
    for (let i = 0; i < n; i++) helper.getNode('head').receive({ payload: Buffer.from(sampleImage(set, i)), index: i });
    const got = await answers.wait(n);
    const want = await originalLogits(preprocessPixels(rt.manifest, set.images.subarray(0, n * set.pixelsPerImage), n), n);
    let same = 0;
    for (const msg of got) {
      const result = msg.result as { index: number };
      if (result.index === argmax(want, (msg.index as number) * 10, 10)) same++;
    }
    assert.ok(same >= n - 1, `${same}/${n} node answers agree with the original`);
    assert.equal(exited.messages.length, 0, 'threshold 0 would exit everything if there were an exit branch');
    assert.equal(caught.messages.length, 0);
  } finally {
    await helper.unload();
    await stopRed();
  }
});
