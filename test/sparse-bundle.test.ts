// The predefined-sparsity bundle: it loads and classifies like any bundle, and its head is
// sparse in structure (grouped and depthwise convolutions ONNX Runtime executes as such),
// not dense weights with zeros: parameters are counted from the ONNX files themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime, preprocessPixels, readSamples } from '../lib/model';
import { argmax } from '../lib/exit/policy';
import { readModel, toNumber, type ModelProto } from '../lib/split/onnx-proto';
import { REPO } from './support/paths';

const DENSE = path.join(REPO, 'models', 'fmnist-cnn');
const SPARSE = path.join(REPO, 'models', 'fmnist-cnn-sparse');

const onnx = (dir: string, file: string) => readModel(fs.readFileSync(path.join(dir, file)), file);

/** Weights stored in the graph, zeros included: a masked dense layer would count in full. */
function storedParams(m: ModelProto): number {
  return m.graph!.initializer.filter((t) => t.dataType === 1 && t.dims.length > 0)
    .reduce((n, t) => n + t.dims.reduce((a: number, d) => a * toNumber(d), 1), 0);
}

const convGroups = (m: ModelProto) => m.graph!.node.filter((n) => n.opType === 'Conv')
  .map((n) => toNumber(n.attribute.find((a) => a.name === 'group')?.i ?? 1));

test('sparse head + exit store over 4x fewer weights than the dense ones, in grouped convolutions', () => {
  const dense = onnx(DENSE, 'head.onnx');
  const sparse = onnx(SPARSE, 'head.onnx');
  const ratio = storedParams(dense) / storedParams(sparse);
  assert.ok(ratio >= 4, `dense ${storedParams(dense)} / sparse ${storedParams(sparse)} weights = ${ratio.toFixed(2)}x`);
  const grouped = (m: ModelProto) => convGroups(m).filter((g) => g > 1).length;
  // Dense: only the exit branch's depthwise conv. Sparse: every conv after the first (which reads one channel).
  assert.equal(grouped(dense), 1);
  assert.equal(grouped(sparse), convGroups(sparse).length - 1, `groups per conv: ${convGroups(sparse).join(', ')}`);
  // The manifest's MAC counts (the training code's, for the dense twin too) say the same of compute.
  const m = JSON.parse(fs.readFileSync(path.join(SPARSE, 'manifest.json'), 'utf8'));
  const macs = (c: { headMacs: number; exitMacs: number }) => c.headMacs + c.exitMacs;
  assert.ok(macs(m.sparsity.dense) / macs(m.measured) >= 4, `MACs ${macs(m.sparsity.dense)} / ${macs(m.measured)}`);
});

test('the sparse bundle verifies, and head then tail classify its samples as its manifest says', async () => {
  const rt = await ModelRuntime.open(SPARSE, { workers: 1 });
  try {
    const set = await readSamples(rt.bundle);
    const classes = rt.manifest.labels.length;
    const { features } = await rt.head(preprocessPixels(rt.manifest, set.images, set.count), set.count);
    const logits = await rt.tail(features, set.count);
    let right = 0;
    for (let i = 0; i < set.count; i++) if (argmax(logits, i * classes, classes) === set.labels[i]) right++;
    const sampleSet = (rt.manifest.measured as { sampleSet: { count: number; unsplitAccuracy: number }[] }).sampleSet;
    const all = sampleSet.find((s) => s.count === set.count)!;
    assert.equal(right / set.count, all.unsplitAccuracy);
    assert.deepEqual(rt.manifest.split.shape, [64, 7, 7], 'the same split tensor as the dense bundle');
  } finally {
    await rt.close();
  }
});
