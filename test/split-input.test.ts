// How the splitter reads a model's input (lib/split/input-spec) and a folder of images
// (lib/split/image-folder), without running a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { GraphIndex } from '../lib/split';
import { resolveInput } from '../lib/split/input-spec';
import { readImageFolder } from '../lib/split/image-folder';
import { shapeOf } from '../lib/split/onnx-proto';
import type { Manifest } from '../lib/model/manifest';
import { readOnnx, repoRoot, residualCnn } from './support/onnx-build';
import { tempDir } from './support/paths';

const fixture = (name: string) => readOnnx(path.join(repoRoot(), 'test', 'models', `${name}.onnx`));
const inputOf = (m: ReturnType<typeof fixture>, opts = {}) => {
  const index = new GraphIndex(m.graph!);
  const v = m.graph!.input.find((i) => index.inputs.includes(i.name))!;
  return resolveInput(index, v.name, shapeOf(v)!, 'model.onnx', opts);
};

test('layout comes from a Transpose [0,3,1,2] after the input, else from which axis holds 1 or 3 channels; --layout overrides', () => {
  const nhwc = inputOf(fixture('classifier-nhwc'));
  assert.deepEqual([nhwc.layout, nhwc.layoutFrom, nhwc.batch, nhwc.frame], ['nhwc', 'transpose', 1, { height: 224, width: 224, channels: 3 }]);
  const nchw = inputOf(fixture('classifier'), { inputShape: [3, 160, 128] });
  assert.deepEqual([nchw.layout, nchw.layoutFrom, nchw.batch, nchw.sampleDims], ['nchw', 'shape', 'dynamic', [3, 160, 128]]);
  // An NHWC input with no Transpose in sight: the last axis is the 3 channels.
  const m = residualCnn();
  m.graph!.input[0].type!.tensorType!.shape!.dim = [{ dimValue: 1 }, { dimValue: 8 }, { dimValue: 8 }, { dimValue: 3 }];
  assert.equal(inputOf(m).layout, 'nhwc');
  assert.equal(inputOf(m).layoutFrom, 'shape');
  assert.equal(inputOf(m, { layout: 'nchw' }).layoutFrom, 'option');
});

test('input shapes the splitter refuses, with what to do', () => {
  assert.throws(() => inputOf(fixture('classifier')), /dynamic axes 2 \(H\), 3 \(W\): give the size to run at with --input-shape, e.g. --input-shape 3,224,224/);
  assert.throws(() => inputOf(fixture('classifier-nhwc'), { inputShape: [224, 224, 1] }), /gives 1 for axis 3 of input "input_1", which the model fixes at 3/);
  assert.throws(() => inputOf(fixture('classifier'), { inputShape: [224, 224] }), /--input-shape 224,224 has 2 dims; input "image" has 4/);
  assert.throws(() => inputOf(fixture('classifier'), { inputShape: [3, 224, 224], color: 'gray' }), /--color gray does not fit input "image" with 3 channel\(s\)/);
  const fixed = residualCnn();
  fixed.graph!.input[0].type!.tensorType!.shape!.dim[0] = { dimValue: 4 };
  assert.throws(() => inputOf(fixed), /batch fixed at 4/);
});

test('an image folder: frames at the manifest size and colour order, labels from subfolders or from a labels file', async () => {
  const dir = tempDir('image-folder');
  const write = (rel: string, rgb: [number, number, number]) => {
    const png = new PNG({ width: 6, height: 4 });
    for (let i = 0; i < 24; i++) png.data.set([...rgb, 255], i * 4);
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), PNG.sync.write(png));
  };
  write('cat/a.png', [200, 10, 0]);
  write('dog/b.png', [0, 20, 250]);
  const m = { input: { shape: [-1, 3, 2, 2], source: { height: 2, width: 2, channels: 3, dtype: 'uint8' }, color: 'bgr', preprocess: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } } } as unknown as Manifest;
  const byFolder = await readImageFolder(dir, m);
  assert.deepEqual(byFolder.files, ['cat/a.png', 'dog/b.png']);
  assert.deepEqual(byFolder.classNames, ['cat', 'dog']);
  assert.deepEqual(byFolder.labels, [[0], [1]]);
  assert.deepEqual([...byFolder.frames.subarray(0, 12)], [0, 0, 0, 0, 10, 10, 10, 10, 200, 200, 200, 200], 'B, G, R planes of 2×2');
  const labels = path.join(dir, 'labels.txt');
  fs.writeFileSync(labels, 'a.png dog,cat\ndog/b.png 1\n');
  assert.deepEqual((await readImageFolder(dir, m, { labelsFile: labels, classNames: ['cat', 'dog'] })).labels, [[1, 0], [1]]);
  fs.writeFileSync(labels, 'a.png cat\n');
  await assert.rejects(readImageFolder(dir, m, { labelsFile: labels, classNames: ['cat', 'dog'] }), /has no line for image dog\/b\.png/);
  await assert.rejects(readImageFolder(dir, m, { labelsFile: labels }), /label "cat" is neither a class name nor an index/);
  await assert.rejects(readImageFolder(path.join(dir, 'nope'), m), /image folder .*nope does not exist/);
});
