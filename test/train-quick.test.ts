// The training pipeline's --quick smoke run (Debian's python3-torch): it must produce a
// complete bundle that this package loads, verifies and runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO, tempDir } from './support/paths';
import { loadBundle, ModelRuntime, readSamples } from '../lib/model';
import { evaluate } from '../lib/eval/evaluate';

test('models/train --quick writes a bundle that loads, verifies and classifies', { timeout: 15 * 60_000 }, async () => {
  const out = tempDir('quick-bundle');
  const started = Date.now();
  const run = spawnSync('/usr/bin/python3', [path.join(REPO, 'models', 'train', 'train.py'), '--quick', '--out', out, '--runs', path.join(out, '..', `${path.basename(out)}-runs`)], {
    encoding: 'utf8', timeout: 14 * 60_000,
  });
  assert.equal(run.status, 0, `train.py --quick failed:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  const seconds = (Date.now() - started) / 1000;
  const bundle = await loadBundle(out);
  const m = bundle.manifest;
  assert.ok(m.rates.length >= 2, 'a bank of units');
  // chosen on the validation half: no level is matched by a smaller one there
  for (let i = 1; i < m.rates.length; i++) {
    const [a, b] = [m.rates[i - 1].measured as { validation: { accuracy: number; idealBytes: number } }, m.rates[i].measured as { validation: { accuracy: number; idealBytes: number } }];
    assert.ok(b.validation.idealBytes > a.validation.idealBytes && b.validation.accuracy > a.validation.accuracy, `level ${i} is dominated on validation`);
  }
  assert.ok(m.exit && m.exit.calibration.length > 5, 'an exit calibration table');
  assert.equal(m.samples?.count, 1000);
  for (const r of m.rates) assert.equal(r.entropy.channels.length, r.symbolShape[0]);
  const rt = await ModelRuntime.open(out, { workers: 1 });
  try {
    const set = await readSamples(rt.bundle);
    const report = await evaluate(rt, { images: set.images.subarray(0, 200 * set.pixelsPerImage), labels: set.labels.subarray(0, 200), count: 200 });
    // Two quick epochs on a subset already classify far above chance (10%).
    assert.ok(report.unsplitAccuracy > 0.5, `unsplit accuracy ${report.unsplitAccuracy}`);
    for (const r of report.rates) assert.ok(r.codedBytes > 0 && r.accuracy > 0.3, JSON.stringify(r));
    // Python's figure (10k test set) and ours (200 samples) describe the same model.
    assert.ok(Math.abs(report.unsplitAccuracy - (m.measured?.unsplitAccuracy ?? 0)) < 0.12);
  } finally {
    await rt.close();
  }
  console.log(`# quick training run: ${seconds.toFixed(0)} s`);
});
