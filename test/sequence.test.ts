import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, SequenceTracker, GapWatch } from '../lib/link/sequence';

test('sequence numbers count per gateway', () => {
  const s = new Sequencer(7);
  assert.deepEqual([s.take('a'), s.take('a'), s.take('b'), s.take('a')], [0, 1, 0, 2]);
});

test('the tracker drops duplicates, opens gaps on jumps and closes them on late frames', () => {
  const t = new SequenceTracker();
  assert.equal(t.see('g', 1, 0).duplicate, false);
  assert.equal(t.see('g', 1, 1).duplicate, false);
  assert.equal(t.see('g', 1, 1).duplicate, true);
  assert.equal(t.see('g', 1, 5).newGaps, 3);
  assert.equal(t.openGaps(), 3);
  t.see('g', 1, 3);
  assert.equal(t.openGaps(), 2);
  // A new boot is a new stream: seq 0 again is not a duplicate.
  assert.equal(t.see('g', 2, 0).duplicate, false);
  assert.equal(t.duplicates, 1);
});

test('gaps are reported once after the reorder window, as runs; late frames count as recovered', () => {
  const w = new GapWatch(1000);
  for (const seq of [0, 1, 5, 3, 9]) w.see('g', 1, seq, 0);
  assert.deepEqual(w.sweep(500).gaps, [], 'within the window a skip may still be reordering');
  w.see('g', 1, 2, 600); // arrives in time: never reported
  const { gaps } = w.sweep(1000);
  assert.deepEqual(gaps.map((g) => [g.from, g.to, g.count]), [[4, 4, 1], [6, 8, 3]]);
  assert.equal(w.sweep(5000).gaps.length, 0, 'each gap is reported once');
  w.see('g', 1, 7, 6000);
  w.see('g', 1, 7, 6001);
  assert.deepEqual(w.sweep(6100).recoveries, [{ gateway: 'g', bootId: 1, count: 1 }]);
  assert.equal(w.open(), 3);
  // A new boot starts where it starts; a jump past the watch limit is reported at once.
  const small = new GapWatch(1000, 10);
  small.see('h', 2, 100, 0);
  small.see('h', 2, 200, 0);
  assert.deepEqual(small.sweep(0).gaps.map((g) => [g.from, g.to]), [[101, 189]]);
  assert.deepEqual(small.sweep(1000).gaps.map((g) => [g.from, g.to]), [[190, 199]]);
});

test('topics parse back into their parts, state topics included', async () => {
  const { topics, parseTopic } = await import('../lib/link/topics');
  assert.deepEqual(parseTopic(topics.features('gw-1', 'abc')), { gateway: 'gw-1', model: 'abc', kind: 'features' });
  assert.deepEqual(parseTopic(topics.state('gw-1')), { gateway: 'gw-1', model: null, kind: 'state' });
  assert.equal(parseTopic('other/x'), null);
  assert.equal(topics.allFeatures(true), '$share/tails/split/+/+/features');
});
