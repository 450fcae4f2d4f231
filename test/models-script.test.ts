// The committed test models are what test/models/make_models.py builds: the script runs
// again (Debian's python3-torch and python3-onnx) and every model it writes gives the same
// outputs as the committed file under onnxruntime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { repoRoot, rng } from './support/onnx-build';
import { tempDir } from './support/paths';

const MODELS = path.join(repoRoot(), 'test', 'models');

async function outputsOf(file: string, input: Float32Array): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(file);
  const meta = s.inputMetadata[0] as { shape?: (number | string)[] };
  const nhwc = meta.shape?.[3] === 3;
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, nhwc ? [1, 224, 224, 3] : [1, 3, 224, 224]) });
  await s.release();
  return s.outputNames.map((n) => out[n].data as Float32Array);
}

test('make_models.py rebuilds every committed test model (same outputs under onnxruntime)', async () => {
  const out = tempDir('make-models');
  const r = spawnSync('/usr/bin/python3', [path.join(MODELS, 'make_models.py'), out], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const committed = fs.readdirSync(MODELS).filter((f) => f.endsWith('.onnx')).sort();
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.onnx')).sort(), committed);
  const random = rng(4);
  const input = Float32Array.from({ length: 3 * 224 * 224 }, () => random() * 4 - 2);
  for (const f of committed) {
    const [want, got] = await Promise.all([outputsOf(path.join(MODELS, f), input), outputsOf(path.join(out, f), input)]);
    want.forEach((w, k) => w.forEach((v, i) => assert.ok(Math.abs(v - got[k][i]) <= 1e-5 * Math.max(1, Math.abs(v)), `${f} output ${k}[${i}]: ${v} vs ${got[k][i]}`)));
  }
});
