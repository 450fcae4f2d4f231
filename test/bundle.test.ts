// Bundle loading and the inference pool against the shipped bundle.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadBundle, BundleError, ModelRuntime, InferenceError, InferencePool, providersFromEnv, readSamples, sampleImage, preprocessPixels, acquireRuntime, releaseRuntime, openRuntimeCount } from '../lib/model';
import { BUNDLE, copyBundle } from './support/paths';

const opened: ModelRuntime[] = [];
after(async () => { for (const rt of opened) await rt.close(); });

test('the shipped bundle loads, every file verified, with a 16-hex model id', async () => {
  const b = await loadBundle(BUNDLE);
  assert.match(b.modelId, /^[0-9a-f]{16}$/);
  assert.ok(b.manifest.rates.length >= 4, 'a bank of at least 4 units');
  assert.ok(Object.keys(b.manifest.files).length >= 2 + 2 * b.manifest.rates.length + 2);
});

test('an altered file is refused, naming it', async () => {
  const dir = copyBundle();
  const b = await loadBundle(dir);
  const victim = b.manifest.rates[0].decoder.file;
  const bytes = fs.readFileSync(path.join(dir, victim));
  bytes[bytes.length >> 1] ^= 0xff;
  fs.writeFileSync(path.join(dir, victim), bytes);
  await assert.rejects(loadBundle(dir), (err: BundleError) => err.code === 'HASH_MISMATCH' && err.file === victim && err.message.includes(victim));
});

test('a missing file is refused, naming it', async () => {
  const dir = copyBundle();
  const b = await loadBundle(dir);
  fs.rmSync(path.join(dir, b.manifest.tail.file));
  await assert.rejects(loadBundle(dir), (err: BundleError) => err.code === 'MISSING_FILE' && err.message.includes(b.manifest.tail.file));
  await assert.rejects(ModelRuntime.open(dir), /is missing/);
});

test('a manifest that is not a bundle manifest is refused with the field', async () => {
  const dir = copyBundle();
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  m.rates[1].level = 7;
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  await assert.rejects(loadBundle(dir), /rates\[1\]\.level must be 1/);
});

test('the pool gives exactly what a direct ORT run gives, batched or not', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { workers: 2 });
  opened.push(rt);
  const set = await readSamples(rt.bundle);
  const n = 16;
  const input = preprocessPixels(rt.manifest, set.images.subarray(0, n * set.pixelsPerImage), n);
  const session = await ort.InferenceSession.create(rt.bundle.file(rt.manifest.head.file));
  const direct = await session.run({ [rt.manifest.head.input]: new ort.Tensor('float32', input, [n, 1, 28, 28]) });
  const batch = await rt.head(input, n);
  assert.deepEqual(Array.from(batch.features), Array.from(direct[rt.manifest.head.features].data as Float32Array));
  // One frame at a time, concurrently: the pool concatenates them; results must not mix.
  const per = input.length / n;
  const singles = await Promise.all(Array.from({ length: n }, (_, i) => rt.head(input.subarray(i * per, (i + 1) * per), 1)));
  const features = batch.features.length / n;
  singles.forEach((s, i) => assert.deepEqual(Array.from(s.features), Array.from(batch.features.subarray(i * features, (i + 1) * features))));
  assert.ok(rt.pool.getStats().runs < 1 + n, 'concurrent single frames were batched');
  await session.release();
});

test('bad inputs give typed errors and the pool keeps serving', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { workers: 1 });
  opened.push(rt);
  const good = preprocessPixels(rt.manifest, sampleImage(await readSamples(rt.bundle), 0), 1);
  await assert.rejects(rt.head(new Float32Array(10), 1), (e: InferenceError) => e.code === 'BAD_INPUT' && /10 values/.test(e.message));
  const nan = good.slice();
  nan[3] = Number.NaN;
  await assert.rejects(rt.head(nan, 1), (e: InferenceError) => e.code === 'BAD_INPUT' && /non-finite/.test(e.message));
  await assert.rejects(rt.pool.run('head', { input: { data: new Int32Array(784) as unknown as Float32Array, dims: [1, 1, 28, 28] } }), (e: InferenceError) => e.code === 'BAD_INPUT' && /float32/.test(e.message));
  assert.equal((await rt.head(good, 1)).features.length, rt.manifest.split.shape.reduce((a, b) => a * b, 1));
});

test('an ORT shape error (no pre-check) is typed and the next request succeeds', async () => {
  const b = await loadBundle(BUNDLE);
  const pool = new InferencePool([{ key: 'tail', file: b.file(b.manifest.tail.file) }], { workers: 1 });
  await pool.ready;
  try {
    await assert.rejects(pool.run('tail', { [b.manifest.tail.input]: { data: new Float32Array(10), dims: [1, 10] } }), (e: InferenceError) => e.code === 'ORT_RUN' && e.message.length > 0);
    const out = await pool.run('tail', { [b.manifest.tail.input]: { data: new Float32Array(64 * 49), dims: [1, 64, 7, 7] } });
    assert.equal(out[b.manifest.tail.logits].data.length, b.manifest.labels.length);
  } finally {
    await pool.close();
  }
});

test('a model file that ORT cannot load fails the pool with LOAD_FAILED, not a hang', async () => {
  const dir = copyBundle();
  const bad = path.join(dir, 'garbage.onnx');
  fs.writeFileSync(bad, 'not a model');
  const pool = new InferencePool([{ key: 'x', file: bad }], { workers: 1 });
  await assert.rejects(pool.ready, (e: InferenceError) => e.code === 'LOAD_FAILED');
  await assert.rejects(pool.run('x', {}), (e: InferenceError) => e.code === 'LOAD_FAILED');
  await pool.close();
});

test('execution providers: SPLIT_DNN_EXECUTION_PROVIDERS picks them; a GPU this build lacks fails the load saying which and how to get it', async () => {
  assert.deepEqual(providersFromEnv({}), ['cpu']);
  assert.deepEqual(providersFromEnv({ SPLIT_DNN_EXECUTION_PROVIDERS: ' CUDA, cpu ' }), ['cuda', 'cpu']);
  const b = await loadBundle(BUNDLE);
  const cpu = new InferencePool([{ key: 'tail', file: b.file(b.manifest.tail.file) }], { workers: 1, executionProviders: ['cpu'] });
  await cpu.ready;
  await cpu.close();
  // This machine's onnxruntime-node has no CUDA libraries (the install skips them).
  const gpu = new InferencePool([{ key: 'tail', file: b.file(b.manifest.tail.file) }], { workers: 1, executionProviders: ['cuda', 'cpu'] });
  await assert.rejects(gpu.ready, (e: InferenceError) => e.code === 'LOAD_FAILED' && /execution providers cuda, cpu: .*--onnxruntime-node-install=cuda12/.test(e.message));
  await gpu.close();
});

test('runtimes are shared per bundle folder and closed with the last user', async () => {
  const [a, b] = await Promise.all([acquireRuntime(BUNDLE), acquireRuntime(BUNDLE)]);
  assert.equal(a, b);
  await releaseRuntime(BUNDLE);
  assert.equal(openRuntimeCount(), 1);
  await releaseRuntime(BUNDLE);
  assert.equal(openRuntimeCount(), 0);
  await assert.rejects(a.head(new Float32Array(784), 1), (e: InferenceError) => e.code === 'POOL_CLOSED');
});

test('the head runs off the event loop: timers keep firing during a large batch', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { workers: 1 });
  opened.push(rt);
  const n = 512;
  const input = new Float32Array(n * 784);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = Date.now();
  await rt.head(input, n);
  clearInterval(timer);
  const elapsed = Date.now() - started;
  // If ORT ran on this thread the interval could not fire until the run was over.
  assert.ok(elapsed < 20 || ticks >= 2, `${ticks} ticks during a ${elapsed} ms run`);
});
