import { test } from 'node:test';
import assert from 'node:assert/strict';
import { softmax, confidence, decide, thresholdForAccuracy, argmax } from '../lib/exit';

test('softmax is stable for large logits and sums to 1', () => {
  const p = softmax([1000, 1001, 999]);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.equal(argmax(p), 1);
});

test('both confidence modes rank a peaked row above a flat one', () => {
  for (const mode of ['max_softmax', 'entropy'] as const) {
    const peaked = confidence([10, 0, 0, 0], 0, 4, mode).confidence;
    const flat = confidence([1, 1, 1, 1], 0, 4, mode).confidence;
    assert.ok(peaked > 0.99 && flat < 0.26, `${mode}: ${peaked} vs ${flat}`);
  }
});

test('decide reads one row out of a batch and applies the threshold', () => {
  const batch = new Float32Array([0, 0, 5, /* row 1 */ 3, 0, 0]);
  assert.deepEqual({ ...decide(batch, 3, 3, 'max_softmax', 0.8), confidence: 0 }, { index: 0, exit: true, confidence: 0 });
  assert.equal(decide(batch, 3, 3, 'max_softmax', 0.95).exit, false);
});

test('the threshold for a target accuracy is the lowest that reaches it', () => {
  const table = [
    { threshold: 0.5, exitRate: 0.95, exitAccuracy: 0.9, accuracy: 0.91 },
    { threshold: 0.7, exitRate: 0.85, exitAccuracy: 0.95, accuracy: 0.925 },
    { threshold: 0.9, exitRate: 0.6, exitAccuracy: 0.98, accuracy: 0.931 },
  ];
  assert.equal(thresholdForAccuracy(table, 0.92), 0.7);
  assert.equal(thresholdForAccuracy(table, 0.5), 0.5);
  assert.equal(thresholdForAccuracy(table, 0.99), null);
});
