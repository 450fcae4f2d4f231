// A second topology: a small residual CNN (seeded random weights, built here). A cut inside
// the residual block must be refused naming the tensor that skips across it; a cut after
// the Add must work and reproduce the model. Also the sample formats and the calibration.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { splitModel, CutError, GraphIndex, planCut, calibrateQuant, readCalibrationSet, readModel } from '../lib/split';
import { ModelRuntime } from '../lib/model';
import { argmax } from '../lib/exit/policy';
import { residualCnn, rng, saveOnnx } from './support/onnx-build';
import { tempDir } from './support/paths';

const work = tempDir('split-residual');
const modelFile = path.join(work, 'residual.onnx');
const samplesFile = path.join(work, 'samples.f32');
const COUNT = 300;
const PER = 3 * 8 * 8;
let samples: Float32Array;

before(() => {
  saveOnnx(modelFile, residualCnn());
  const random = rng(11);
  samples = Float32Array.from({ length: COUNT * PER }, () => random() * 2 - 1);
  fs.writeFileSync(samplesFile, Buffer.from(samples.buffer));
});

async function originalLogits(input: Float32Array, n: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelFile);
  try {
    return (await session.run({ input: new ort.Tensor('float32', input, [n, 3, 8, 8]) })).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('a cut inside the residual block is refused, naming the tensor that skips across it', async () => {
  for (const at of ['block.conv1', 'block.relu', 'block.conv2']) {
    await assert.rejects(splitModel({ model: modelFile, at, calibrate: samplesFile, out: path.join(work, `refused-${at}`) }),
      (err: CutError) => err instanceof CutError && err.code === 'NOT_A_CUT' && err.crossing.join() === 'stem' && err.message.includes('"stem"') && err.message.includes(at));
    assert.equal(fs.existsSync(path.join(work, `refused-${at}`)), false, 'nothing is written for a refused cut');
  }
});

test('the graph analysis: which tensors cut cleanly', () => {
  const index = new GraphIndex(readModel(fs.readFileSync(modelFile)).graph!);
  for (const ok of ['stem.conv', 'stem', 'block.sum', 'block.out', 'pool', 'flat']) assert.doesNotThrow(() => planCut(index, ok, ['logits']), ok);
  assert.throws(() => planCut(index, 'input', ['logits']), (e: CutError) => e.code === 'IS_INPUT');
  assert.throws(() => planCut(index, 'stem.conv.w', ['logits']), (e: CutError) => e.code === 'CONSTANT');
});

test('a cut after the Add works: head holds the whole block, the tail starts after it, outputs reproduced', async () => {
  const out = path.join(work, 'after-add');
  const report = await splitModel({ model: modelFile, at: 'block.sum', calibrate: samplesFile, out });
  assert.equal(report.float.argmaxAgreement, 1);
  assert.ok(report.float.maxAbsError < 1e-5, `float max abs error ${report.float.maxAbsError}`);
  assert.ok(report.quantized.argmaxAgreement! >= 0.97, `8-bit agreement ${report.quantized.argmaxAgreement}`);
  assert.deepEqual(report.splitShape, [8, 8, 8]);
  assert.ok(report.rate.quant.min < 0, 'the Add output is signed, so the symbols are too');
  assert.equal(report.rate.quant.max - report.rate.quant.min, 255);

  const head = readModel(fs.readFileSync(path.join(out, 'head.onnx')));
  const tail = readModel(fs.readFileSync(path.join(out, 'tail.onnx')));
  assert.ok(head.graph!.node.some((n) => n.opType === 'Add'));
  assert.ok(!tail.graph!.node.some((n) => n.opType === 'Add' || n.opType === 'Conv'));
  assert.deepEqual(tail.graph!.input.map((v) => v.name), ['block.sum']);
  assert.deepEqual(head.graph!.output.map((v) => v.name), ['block.sum']);

  // Through the runtime the nodes use, in float32: the same logits as the unsplit model.
  const rt = await ModelRuntime.open(out, { workers: 1 });
  try {
    assert.equal(rt.manifest.samples, undefined, 'float32 samples are not a uint8 sample set');
    const n = 50;
    const input = samples.subarray(0, n * PER);
    const logits = await rt.tail((await rt.head(input, n)).features, n);
    const want = await originalLogits(input, n);
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i] - logits[i]));
    assert.ok(maxAbs < 1e-5, `runtime head → tail vs original: ${maxAbs}`);
    const classes = new Set(Array.from({ length: n }, (_, i) => argmax(want, i * 5, 5)));
    assert.ok(classes.size >= 2, 'the random model answers more than one class, so agreement means something');
  } finally {
    await rt.close();
  }
});

test('.npy float32 samples with .npy labels give the same bundle figures as .f32, with accuracy', async () => {
  const npy = (descr: string, shape: number[], body: Buffer) => {
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    header += ' '.repeat(63 - ((header.length + 10) % 64)) + '\n';
    const len = Buffer.alloc(2);
    len.writeUInt16LE(header.length);
    return Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), len, Buffer.from(header, 'latin1'), body]);
  };
  const xs = path.join(work, 'x.npy');
  const ys = path.join(work, 'y.npy');
  fs.writeFileSync(xs, npy('<f4', [COUNT, 3, 8, 8], Buffer.from(samples.buffer)));
  const labels = new BigInt64Array(COUNT).map((_, i) => BigInt(i % 5));
  fs.writeFileSync(ys, npy('<i8', [COUNT], Buffer.from(labels.buffer)));
  const set = await readCalibrationSet(xs, { sampleDims: [3, 8, 8], preprocess: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] }, labelsFile: ys });
  assert.equal(set.count, COUNT);
  assert.deepEqual(Array.from(set.inputs.subarray(0, 10)), Array.from(samples.subarray(0, 10)));
  assert.deepEqual(Array.from(set.labels!.subarray(0, 6)), [0, 1, 2, 3, 4, 0]);
  const report = await splitModel({ model: modelFile, at: 'pool', calibrate: xs, labelsFile: ys, out: path.join(work, 'npy') });
  assert.equal(typeof report.originalAccuracy, 'number');
  assert.equal(typeof report.quantized.accuracy, 'number');
});

test('calibrateQuant: 256 levels over the range the samples reach', () => {
  const relu = calibrateQuant(Float32Array.from([0, 0.5, 2.55]), 8);
  assert.deepEqual([relu.min, relu.max], [0, 255]);
  assert.ok(Math.abs(relu.step - 0.01) < 1e-9);
  const signed = calibrateQuant(Float32Array.from([-1, 0, 3]), 8);
  assert.equal(signed.max - signed.min, 255);
  assert.ok(signed.min * signed.step <= -1 + signed.step / 2 && signed.max * signed.step >= 3 - signed.step / 2);
  const clipped = calibrateQuant(Float32Array.from([...new Array(98).fill(1), 0, 1000]), 8, 0.02);
  assert.ok(clipped.hi < 1000, 'clip ignores the outlier');
});
