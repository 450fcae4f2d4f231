// The ONNX → PyTorch converter that lets units train through a user's frozen tail
// (models/train/byom/onnx_torch.py): every operator it claims to run, on a small graph,
// against onnxruntime (Debian has no onnxruntime for Python, so the reference comes from
// onnxruntime-node here), and the message for a tail it cannot run.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { REPO, tempDir } from './support/paths';
import { opCases, unsupportedCase, OpCase } from './support/op-cases';
import { writeNpy } from '../lib/units/npy';

const PARITY = path.join(REPO, 'models', 'train', 'byom', 'parity.py');
const work = tempDir('op-parity');
interface Outcome { name: string; maxAbsError?: number; unsupported?: string; fallback?: string }
let outcomes: Outcome[] = [];
const cases = opCases();

function python(args: string[]): string {
  const run = spawnSync('/usr/bin/python3', [PARITY, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

before(async () => {
  const list = [];
  for (const [i, c] of [...cases, unsupportedCase()].entries()) {
    const file = path.join(work, `case${i}.onnx`);
    fs.writeFileSync(file, c.onnx);
    const x = path.join(work, `case${i}.x.npy`);
    await writeNpy(x, c.input.data, c.input.dims);
    const outputs: string[] = [];
    if (i < cases.length) {
      const session = await ort.InferenceSession.create(file);
      const y = (await session.run({ x: new ort.Tensor('float32', c.input.data, c.input.dims) })).y;
      await session.release();
      outputs.push(path.join(work, `case${i}.y.npy`));
      await writeNpy(outputs[0], y.data as Float32Array, y.dims as number[]);
    }
    list.push({ name: c.name, onnx: file, inputs: [x], outputs });
  }
  fs.writeFileSync(path.join(work, 'cases.json'), JSON.stringify(list));
  outcomes = JSON.parse(python([path.join(work, 'cases.json')])) as Outcome[];
});

test('every operator the converter runs has a parity case', () => {
  const claimed = JSON.parse(python(['--ops'])) as string[];
  const covered = new Set(cases.flatMap((c) => c.ops));
  assert.deepEqual(claimed.filter((op) => !covered.has(op)), []);
  for (const op of ['Conv', 'ConvTranspose', 'BatchNormalization', 'Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Add', 'Mul', 'Concat', 'Resize',
    'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'Transpose', 'Gemm', 'MatMul', 'Softmax', 'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Identity', 'Sub', 'Div']) {
    assert.ok(claimed.includes(op), `${op} is in the supported set`);
  }
});

test('each case: PyTorch matches onnxruntime within 1e-4', () => {
  assert.equal(outcomes.length, cases.length + 1);
  const bad = outcomes.slice(0, cases.length).filter((o) => !(typeof o.maxAbsError === 'number' && o.maxAbsError <= 1e-4));
  assert.deepEqual(bad, []);
  // the comparison is live: every case produced a finite figure
  for (const o of outcomes.slice(0, cases.length)) assert.ok(Number.isFinite(o.maxAbsError), o.name);
});

test('a graph with an operator outside the set is refused by name, with the fallback message', () => {
  const o = outcomes[cases.length];
  assert.equal(o.maxAbsError, undefined);
  assert.match(o.unsupported ?? '', /LpNormalization/);
  assert.match(o.fallback ?? '', /tail\.onnx cannot be run in PyTorch \(operators not supported: LpNormalization\): training with feature-space distortion/);
});

export type { OpCase };
