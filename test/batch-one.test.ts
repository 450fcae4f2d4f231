// A model whose batch axis is fixed at 1 (what tf2onnx writes): the pool must never join
// requests for it, a runtime given several samples runs them one by one, and a batch fed
// straight to the pool is refused with a reason instead of onnxruntime's shape error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime, InferencePool, InferenceError, preprocessPixels, readSamples, sha256 } from '../lib/model';
import { writeModel } from '../lib/split/onnx-proto';
import { readOnnx } from './support/onnx-build';
import { copyBundle } from './support/paths';

/** The shipped bundle with head and tail re-declared at batch 1; `declare` says so in the manifest. */
function batchOneBundle(declare: boolean): string {
  const dir = copyBundle();
  fs.rmSync(path.join(dir, 'signature.json'), { force: true });
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const rel of [m.head.file, m.tail.file]) {
    const onnx = readOnnx(path.join(dir, rel));
    for (const v of [...onnx.graph!.input, ...onnx.graph!.output]) v.type!.tensorType!.shape!.dim[0] = { dimValue: 1 };
    fs.writeFileSync(path.join(dir, rel), writeModel(onnx));
  }
  if (declare) m.input.batch = 1;
  for (const rel of Object.keys(m.files)) m.files[rel] = sha256(fs.readFileSync(path.join(dir, rel)));
  fs.writeFileSync(file, JSON.stringify(m, null, 2));
  return dir;
}

let original: ModelRuntime;
let inputs: Float32Array;
const N = 12;
const per = 784;
before(async () => {
  original = await ModelRuntime.open(copyBundle(), { workers: 1 });
  const set = await readSamples(original.bundle);
  inputs = preprocessPixels(original.manifest, set.images.subarray(0, N * per), N);
});
after(() => original.close());

const sample = (i: number) => inputs.subarray(i * per, (i + 1) * per);

test('batch 1: concurrent frames are run one per ORT call and match the dynamic-batch model', async () => {
  const want = await original.head(inputs, N);
  const rt = await ModelRuntime.open(batchOneBundle(true), { workers: 2 });
  try {
    // All submitted before any answer: a pool that joined queued requests would send ORT a batch.
    const outs = await Promise.all(Array.from({ length: N }, (_, i) => rt.head(sample(i), 1)));
    const featuresPer = want.features.length / N;
    outs.forEach((o, i) => {
      const ref = want.features.subarray(i * featuresPer, (i + 1) * featuresPer);
      assert.ok(o.features.every((v, k) => Math.abs(v - ref[k]) < 1e-4), `frame ${i} matches`);
    });
    const stats = rt.pool.getStats();
    assert.equal(stats.runs, stats.frames, 'one sample per run');
    assert.equal(stats.frames, N);
    // Several samples at once (eval, the OTA sample check): split into runs, joined in order.
    const together = await rt.head(inputs, N);
    assert.ok(together.features.every((v, k) => Math.abs(v - want.features[k]) < 1e-4));
    const logits = await rt.tail(together.features, N);
    const refLogits = await original.tail(want.features, N);
    assert.ok(logits.every((v, k) => Math.abs(v - refLogits[k]) < 1e-3), 'the tail too');
    // Fed a batch directly, the pool says what the model takes; the next request still runs.
    const batch = { data: inputs.subarray(0, 2 * per), dims: [2, 1, 28, 28] };
    await assert.rejects(rt.pool.run('head', { [rt.manifest.head.input]: batch }),
      (e: Error) => e instanceof InferenceError && e.code === 'BAD_INPUT' && /head: the model's batch axis is fixed at 1; got a batch of 2/.test(e.message));
    assert.equal((await rt.head(sample(0), 1)).features.length, featuresPer);
  } finally {
    await rt.close();
  }
});

test('batch 1 undeclared: the same model fails under concurrency (why the manifest field exists)', async () => {
  const rt = await ModelRuntime.open(batchOneBundle(false), { workers: 1 });
  try {
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => rt.head(sample(i), 1)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.ok(failed.length > 0, 'queued requests were joined into a batch ORT refuses');
    assert.match(String(failed[0].reason.message), /invalid dimensions|Expected: 1/);
  } finally {
    await rt.close();
  }
});

test('pool: a model with maxBatch 1 gets no joined runs even when many wait', async () => {
  const rt = await ModelRuntime.open(batchOneBundle(true), { workers: 1 });
  const file = rt.bundle.file(rt.manifest.head.file);
  await rt.close();
  const pool = new InferencePool([{ key: 'm', file, inputs: { input: [-1, 1, 28, 28] }, maxBatch: 1 }], { workers: 1 });
  try {
    await pool.ready;
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run('m', { input: { data: sample(i), dims: [1, 1, 28, 28] } })));
    assert.equal(runs.length, 8);
    assert.deepEqual(pool.getStats().runs, 8);
  } finally {
    await pool.close();
  }
});
