// The bugs issue 15 lists, each with the command a user ran: every test here fails on the
// code before the issue (the old message or behaviour is named in each).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBundle } from '../lib/model';
import { GraphIndex } from '../lib/split';
import { floatTensor } from '../lib/split/onnx-proto';
import { readOnnx, repoRoot, residualCnn, rng, saveOnnx } from './support/onnx-build';
import { splitDnn, splitDnnJson } from './support/cli';
import { tempDir } from './support/paths';
import { DEFAULT_FASHION_MNIST } from '../lib/eval/idx';

const work = tempDir('split-bugs');
const modelFile = path.join(work, 'residual.onnx');
const samples = path.join(work, 'images.u8');
const PER = 3 * 8 * 8;

before(() => {
  saveOnnx(modelFile, residualCnn());
  const random = rng(9);
  fs.writeFileSync(samples, Uint8Array.from({ length: 64 * PER }, () => Math.floor(random() * 256)));
});

test('plain eval of a bundle whose input is not 1x28x28 measures its own samples and skips Fashion-MNIST (was: "expected 256 × … uint8 pixels")', () => {
  const out = path.join(work, 'rgb8');
  assert.equal(splitDnn('split', '--model', modelFile, '--at', 'pool', '--calibrate', samples, '--out', out).code, 0);
  const r = splitDnn('eval', '--bundle', out, '--data', DEFAULT_FASHION_MNIST);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /test: skipped, the bundle's input is 3×8×8, not Fashion-MNIST's 1×28×28: measure with --images DIR/);
  assert.match(r.out, /samples \(64 images\)/);
});

test('a cut at the model output is refused: the tail would be empty (was: a bundle with an empty tail)', () => {
  const out = path.join(work, 'at-output');
  const r = splitDnn('split', '--model', modelFile, '--at', 'logits', '--calibrate', samples, '--out', out);
  assert.equal(r.code, 1);
  assert.match(r.err, /"logits" is an output of the model: the tail would be empty/);
  assert.equal(fs.existsSync(out), false);
});

test('a cut at an int64 tensor says it is int64 and what made it, before reading any sample (was: a message about a skip connection)', () => {
  const detector = path.join(repoRoot(), 'test', 'models', 'detector.onnx');
  const index = new GraphIndex(readOnnx(detector).graph!);
  const shape = index.graph.node.find((n) => n.opType === 'Shape' && !index.constant.has(n.output[0]))!.output[0];
  const r = splitDnn('split', '--model', detector, '--at', shape, '--calibrate', path.join(work, 'none'), '--out', path.join(work, 'x'));
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`"${shape.replace(/[/.]/g, '\\$&')}" is int64 \\(made by Shape\\), not float32: only a float32 activation can be quantized and coded`));
  assert.doesNotMatch(r.err, /skip connection|does not exist/);
});

test("onnxruntime's own warnings stay out of the output unless --verbose", () => {
  const noisy = residualCnn();
  noisy.graph!.initializer.push(floatTensor('unused_weight', [4], new Float32Array(4))); // ORT warns it removes it
  const file = saveOnnx(path.join(work, 'noisy.onnx'), noisy);
  const quiet = splitDnn('split', '--model', file, '--list');
  assert.equal(quiet.code, 0, quiet.err);
  assert.doesNotMatch(quiet.out + quiet.err, /\[[VIWE]:onnxruntime|unused_weight/);
  const verbose = splitDnn('split', '--model', file, '--list', '--verbose');
  assert.match(verbose.out + verbose.err, /\[W:onnxruntime:.*Removing initializer 'unused_weight'/);
});

test('names of ~250 characters are shortened in the --list table (middle ellipsis), and --at takes the short form', async () => {
  const long = `${'backbone/stage3/'.repeat(14)}block.out`;
  const m = residualCnn();
  for (const n of m.graph!.node) { n.input = n.input.map((x) => (x === 'block.out' ? long : x)); n.output = n.output.map((y) => (y === 'block.out' ? long : y)); }
  const file = saveOnnx(path.join(work, 'long-names.onnx'), m);
  const r = splitDnn('split', '--model', file, '--list');
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').slice(1);
  assert.ok(rows.every((l) => l.length < 120), `widest row ${Math.max(...rows.map((l) => l.length))}`);
  const shown = rows.map((l) => l.split(/\s+/)[0]).find((n) => n.includes('…'))!;
  assert.ok(long.startsWith(shown.split('…')[0]) && long.endsWith(shown.split('…')[1]), shown);
  const out = path.join(work, 'long-bundle');
  const split = splitDnn('split', '--model', file, '--at', shown, '--calibrate', samples, '--out', out);
  assert.equal(split.code, 0, split.err);
  assert.equal((await loadBundle(out)).manifest.split.name, long);
});

test('the bundle keeps a small sample set: --samples N, by default what fits 2 MiB (was: every calibration sample)', async () => {
  const out = path.join(work, 'five');
  assert.equal(splitDnn('split', '--model', modelFile, '--at', 'pool', '--calibrate', samples, '--out', out, '--samples', '5').code, 0);
  const b = await loadBundle(out);
  assert.equal(b.manifest.samples?.count, 5);
  assert.equal(fs.statSync(b.file('samples/images.u8')).size, 5 * PER);
  // 192 B samples: 10,922 fit 2 MiB, so the bundle keeps 10,922 of 11,000.
  const big = path.join(work, 'big.u8');
  const random = rng(3);
  fs.writeFileSync(big, Uint8Array.from({ length: 11000 * PER }, () => Math.floor(random() * 256)));
  const report = splitDnnJson<{ keptSamples: number; count: number }>('split', '--model', modelFile, '--at', 'pool', '--calibrate', big, '--out', path.join(work, 'budget'));
  assert.equal(report.count, 11000);
  assert.equal(report.keptSamples, Math.floor((2 * 1024 * 1024) / PER));
});
