// `split-dnn split` through the real command line: --list, a split, and the errors a user
// meets first (a tensor name that is not there, a model file that is not there).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBundle } from '../lib/model';
import { residualCnn, rng, saveOnnx } from './support/onnx-build';
import { tempDir } from './support/paths';

const CLI = path.resolve(__dirname, '..', 'bin', 'split-dnn.js');
const work = tempDir('split-cli');
const modelFile = path.join(work, 'residual.onnx');
const samplesFile = path.join(work, 'images.u8');

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'split', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

before(() => {
  saveOnnx(modelFile, residualCnn());
  const random = rng(5);
  fs.writeFileSync(samplesFile, Uint8Array.from({ length: 64 * 3 * 8 * 8 }, () => Math.floor(random() * 256)));
});

test('--list prints every candidate tensor with its shape, float32 size and whether a cut there works', () => {
  const r = run('--model', modelFile, '--list');
  assert.equal(r.code, 0, r.err);
  const line = (name: string) => r.out.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(line('stem'), /^stem\s+Relu\s+\[1, 8, 8, 8\]\s+2048 B\s+ok$/);
  assert.match(line('block.relu'), /\[1, 8, 8, 8\]\s+2048 B\s+no: also needs stem$/);
  assert.match(line('block.sum'), /^block\.sum\s+Add\s+\[1, 8, 8, 8\]\s+2048 B\s+ok$/);
  assert.match(line('pool'), /\[1, 8, 4, 4\]\s+512 B\s+ok$/);
  assert.match(line('flat'), /^flat\s+Flatten\s+\[1, 128\]\s+512 B\s+ok$/);
  assert.equal(line('logits'), '', 'the output itself is not a cut');
  const json = JSON.parse(run('--model', modelFile, '--list', '--json', '--calibrate', samplesFile).out);
  assert.equal(json.length, 9);
  assert.deepEqual(json.find((c: { name: string }) => c.name === 'pool').dims, [1, 8, 4, 4]);
});

test('a split from uint8 samples writes a bundle that loads and carries them as its sample set', async () => {
  const out = path.join(work, 'bundle');
  const r = run('--model', modelFile, '--at', 'block.out', '--calibrate', samplesFile, '--scale', '1/127.5', '--mean', '1,1,1', '--out', out, '--name', 'resnet-toy');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /head → tail \(float32\):\s+argmax agreement 100\.00%/);
  assert.match(r.out, /bytes per frame: float32 2048, raw 8-bit 512, coded \d+/);
  const b = await loadBundle(out);
  assert.equal(b.manifest.name, 'resnet-toy');
  assert.equal(b.manifest.samples?.count, 64);
  assert.equal((b.manifest.samples as { labelSource?: string }).labelSource, 'original-model-argmax');
  assert.deepEqual(b.manifest.input.preprocess, { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] });
  assert.deepEqual(b.manifest.input.source, { channels: 3, height: 8, width: 8, dtype: 'uint8' });
  const again = run('--model', modelFile, '--at', 'block.out', '--calibrate', samplesFile, '--out', out);
  assert.equal(again.code, 1);
  assert.match(again.err, /is not empty \(pass --force/);
});

test('a tensor that is not in the graph, or a model file that does not exist, is a clear error', () => {
  const missingTensor = run('--model', modelFile, '--at', 'block.ou', '--calibrate', samplesFile, '--out', path.join(work, 'x'));
  assert.equal(missingTensor.code, 1);
  assert.match(missingTensor.err, /tensor "block\.ou" is not in the graph; did you mean "block\.out"\?/);
  const noSuchTensor = run('--model', modelFile, '--at', 'zzz', '--calibrate', samplesFile, '--out', path.join(work, 'x'));
  assert.match(noSuchTensor.err, /tensor "zzz" is not in the graph \(split-dnn split --list shows the candidates\)/);
  const missingModel = run('--model', path.join(work, 'nope.onnx'), '--at', 'stem', '--calibrate', samplesFile, '--out', path.join(work, 'x'));
  assert.equal(missingModel.code, 1);
  assert.match(missingModel.err, /model file .*nope\.onnx does not exist/);
  const notOnnx = run('--model', samplesFile, '--list');
  assert.equal(notOnnx.code, 1);
  assert.match(notOnnx.err, /is not an ONNX model|has no graph nodes/);
  const crossing = run('--model', modelFile, '--at', 'block.conv2', '--calibrate', samplesFile, '--out', path.join(work, 'x'));
  assert.equal(crossing.code, 1);
  assert.match(crossing.err, /does not separate the graph: the tail also needs "stem"/);
  assert.equal(fs.existsSync(path.join(work, 'x')), false);
});
