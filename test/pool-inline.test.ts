// The pool's inline mode (one CPU: the sessions run in this thread, no worker isolate):
// frames handed over one per call while a run is under way are joined into batched ORT
// calls, and each frame still gets exactly its own result, in order, the same as one by one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime, InferencePool, InferenceError, preprocessPixels, readSamples, loadBundle } from '../lib/model';
import { BUNDLE, copyBundle } from './support/paths';

const N = 24;
const PER = 784;
let reference: ModelRuntime;
let inputs: Float32Array;
/** Every frame's head output, one ORT call each, from worker threads. */
let singles: { features: Float32Array; exitLogits: Float32Array | null }[];

before(async () => {
  reference = await ModelRuntime.open(BUNDLE, { workers: 1, inline: false });
  const set = await readSamples(reference.bundle);
  inputs = preprocessPixels(reference.manifest, set.images.subarray(0, N * PER), N);
  singles = [];
  for (let i = 0; i < N; i++) singles.push(await reference.head(frame(i), 1));
});
after(() => reference.close());

const frame = (i: number) => inputs.subarray(i * PER, (i + 1) * PER);
const close = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, k) => Math.abs(v - b[k]) < 1e-4);

test('inline: frames sent one per call are batched, and each gets its own result in order', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { inline: true });
  try {
    assert.equal(rt.pool.inline, true);
    assert.equal(rt.pool.getStats().workers, 1);
    const outs = await Promise.all(Array.from({ length: N }, (_, i) => rt.head(frame(i), 1)));
    outs.forEach((o, i) => {
      assert.ok(close(o.features, singles[i].features), `frame ${i}: features as run alone`);
      assert.ok(close(o.exitLogits!, singles[i].exitLogits!), `frame ${i}: exit logits as run alone`);
    });
    const s = rt.pool.getStats();
    assert.equal(s.frames, N);
    assert.ok(s.runs < N, `joined into fewer ORT calls than frames (${s.runs} for ${N})`);
    // The encoder runs batched too, each frame's latent as when run alone.
    const latents = await Promise.all(outs.map((o) => rt.encode(2, o.features, 1)));
    for (let i = 0; i < N; i++) assert.ok(close(latents[i], await reference.encode(2, singles[i].features, 1)), `frame ${i}: latent`);
  } finally {
    await rt.close();
  }
});

test('inline: maxBatch caps a joined run', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { inline: true, maxBatch: 4 });
  try {
    const outs = await Promise.all(Array.from({ length: N }, (_, i) => rt.head(frame(i), 1)));
    outs.forEach((o, i) => assert.ok(close(o.features, singles[i].features), `frame ${i}`));
    assert.ok(rt.pool.getStats().runs >= N / 4, `at most 4 frames a run (${rt.pool.getStats().runs} runs)`);
  } finally {
    await rt.close();
  }
});

test('inline: an ORT error fails its own run only; a bad file fails the load; a closed pool refuses', async () => {
  const b = await loadBundle(BUNDLE);
  const pool = new InferencePool([{ key: 'tail', file: b.file(b.manifest.tail.file) }], { inline: true });
  await pool.ready;
  await assert.rejects(pool.run('tail', { [b.manifest.tail.input]: { data: new Float32Array(10), dims: [1, 10] } }), (e: InferenceError) => e.code === 'ORT_RUN');
  const out = await pool.run('tail', { [b.manifest.tail.input]: { data: new Float32Array(64 * 49), dims: [1, 64, 7, 7] } });
  assert.equal(out[b.manifest.tail.logits].data.length, b.manifest.labels.length);
  await pool.close();
  await assert.rejects(pool.run('tail', {}), (e: InferenceError) => e.code === 'POOL_CLOSED');

  const bad = path.join(copyBundle(), 'garbage.onnx');
  fs.writeFileSync(bad, 'not a model');
  const broken = new InferencePool([{ key: 'x', file: bad }], { inline: true });
  await assert.rejects(broken.ready, (e: InferenceError) => e.code === 'LOAD_FAILED');
  await assert.rejects(broken.run('x', {}), (e: InferenceError) => e.code === 'LOAD_FAILED');
  await broken.close();
});

test('inline: requests pending when the pool closes are rejected, not left hanging', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { inline: true });
  const pending = Array.from({ length: 8 }, (_, i) => rt.head(frame(i), 1).then(() => 'done', (e: InferenceError) => e.code));
  await rt.close();
  for (const r of await Promise.all(pending)) assert.ok(r === 'done' || r === 'POOL_CLOSED', String(r));
});

test('the pool runs inline by default only with one worker on one CPU', async () => {
  const two = new InferencePool([], { workers: 2 });
  assert.equal(two.inline, false);
  await two.close();
  const asked = new InferencePool([], { workers: 3, inline: true });
  assert.equal(asked.inline, true);
  assert.equal(asked.getStats().workers, 1);
  await asked.close();
});
