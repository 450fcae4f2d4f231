// `split-dnn eval` on the shipped sample set agrees with what the manifest claims: the
// Python side's test-set figures within sampling error, the recorded sample-set figures
// exactly (so they are reproducible from the ONNX files alone).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ModelRuntime, readSamples } from '../lib/model';
import { evaluate, EvalReport } from '../lib/eval/evaluate';
import { BUNDLE, DIST } from './support/paths';

let rt: ModelRuntime;
after(async () => { await rt?.close(); });

interface Recorded { count: number; unsplitAccuracy: number; rates: { level: number; accuracy: number; codedBytes: number; pipeline: { accuracy: number; exitRate: number } }[] }

test('eval on the sample set agrees with the manifest', async () => {
  rt = await ModelRuntime.open(BUNDLE);
  const m = rt.manifest;
  const report: EvalReport = await evaluate(rt, await readSamples(rt.bundle));
  // Within 3 standard errors of the 10k test-set figures that training measured.
  const within = (p: number, expected: number, what: string) => {
    const sigma = Math.sqrt((expected * (1 - expected)) / report.count);
    assert.ok(Math.abs(p - expected) <= 3 * sigma + 0.002, `${what}: ${p} on the samples vs ${expected} in the manifest`);
  };
  within(report.unsplitAccuracy, m.measured!.unsplitAccuracy!, 'unsplit accuracy');
  for (const r of report.rates) within(r.accuracy, m.rates[r.level].measured!.accuracy!, `rate ${r.level} accuracy`);
  for (const c of report.calibration) {
    const claimed = m.exit!.calibration.find((x) => x.threshold === c.threshold)!;
    within(c.exitRate, claimed.exitRate, `exit rate at ${c.threshold}`);
  }
  // Bytes per frame: the real coder, close to the test-set average it recorded.
  for (const r of report.rates) {
    const claimed = m.rates[r.level].measured!.codedBytes!;
    assert.ok(Math.abs(r.codedBytes - claimed) / claimed < 0.1, `rate ${r.level}: ${r.codedBytes} B vs ${claimed} B`);
    assert.ok(r.codedOverIdeal < 1.1, `rate ${r.level}: coded/ideal ${r.codedOverIdeal}`);
  }
  // The sample-set figures in the manifest are what the ONNX files give. Not bit for bit:
  // ORT's kernels round differently for other batch sizes, and a value on a quantization
  // boundary can flip one symbol — so a hair of tolerance.
  const recorded = (m.measured as { sampleSet: Recorded[] }).sampleSet.find((s) => s.count === report.count)!;
  assert.ok(Math.abs(report.unsplitAccuracy - recorded.unsplitAccuracy) <= 0.002);
  for (const r of recorded.rates) {
    assert.ok(Math.abs(report.rates[r.level].accuracy - r.accuracy) <= 0.003, `rate ${r.level} accuracy`);
    assert.ok(Math.abs(report.rates[r.level].codedBytes - r.codedBytes) / r.codedBytes <= 0.005, `rate ${r.level} bytes`);
  }
});

test('split-dnn eval --json prints the same report from the command line', () => {
  const run = spawnSync(process.execPath, [path.join(DIST, 'bin', 'split-dnn.js'), 'eval', '--bundle', BUNDLE, '--samples-only', '--json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.equal(report.modelId, rt.modelId);
  assert.equal(report.samples.count, rt.manifest.samples!.count);
  assert.equal(report.samples.rates.length, rt.manifest.rates.length);
  assert.equal(report.test, undefined, '--samples-only skips the test set');
});
