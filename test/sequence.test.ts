import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, SequenceTracker, GapWatch } from '../lib/link/sequence';

test('sequence numbers count per gateway', () => {
  const s = new Sequencer(7);
  assert.deepEqual([s.take('a'), s.take('a'), s.take('b'), s.take('a')], [0, 1, 0, 2]);
});

test('the tracker drops duplicates within its window, per (gateway, boot) stream', () => {
  const t = new SequenceTracker(16);
  assert.equal(t.see('g', 1, 0).duplicate, false);
  assert.equal(t.see('g', 1, 1).duplicate, false);
  assert.equal(t.see('g', 1, 1).duplicate, true);
  assert.equal(t.see('g', 1, 5).duplicate, false);
  assert.equal(t.see('g', 1, 3).duplicate, false, 'a late frame is not a duplicate');
  assert.equal(t.see('g', 1, 3).duplicate, true);
  assert.equal(t.see('g', 1, 40).duplicate, false, 'a jump past the window');
  assert.equal(t.see('g', 1, 5).duplicate, false, 'older than the window: not known, not a duplicate');
  assert.equal(t.see('g', 1, 39).duplicate, false, 'skipped by the jump: not seen');
  // A new boot is a new stream: seq 0 again is not a duplicate.
  assert.equal(t.see('g', 2, 0).duplicate, false);
  assert.equal(t.duplicates, 2);
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
  // A new boot starts where it starts; a jump past the gap bound is a reset, not a gap.
  const small = new GapWatch(1000, 100);
  small.see('h', 2, 100, 0);
  small.see('h', 2, 150, 0);
  small.see('h', 2, 1_000_000, 0);
  small.see('h', 2, 1_000_002, 0);
  const swept = small.sweep(1000);
  assert.deepEqual(swept.gaps.map((g) => [g.from, g.to]), [[1_000_001, 1_000_001]], 'the stream starts again at the reset');
  assert.deepEqual(swept.resets, [{ gateway: 'h', bootId: 2, from: 150, to: 1_000_000 }]);
  assert.equal(small.resetCount, 1);
  assert.equal(small.reported, 1, 'nothing of the reset is counted missing');
});

test('far-apart seqs cost a run each, never one entry per skipped seq: the stall and the 4-billion-gap counter of issue 18', () => {
  const w = new GapWatch(1000);
  const t = new SequenceTracker();
  // What a peer can send on its own topic: u32 seqs anywhere, in one stream and in many.
  const seqs = [0, 0xffffffff, 7, 0x7fffffff, 0x80000000, 3, 0xfffffffe, 1 << 20, 2, 1];
  for (let i = 0; i < 20_000; i++) {
    const seq = i < seqs.length ? seqs[i] : (i * 2_654_435_761) >>> 0;
    w.see('gwA', 1, seq, 0);
    t.see('gwA', 1, seq);
    w.see(`made-up-${i}`, i, seq, 0); // new streams, forgotten past the cap
  }
  const { gaps, resets } = w.sweep(10_000);
  const missing = gaps.reduce((n, g) => n + g.count, 0);
  assert.ok(missing < 20_000 * 2 * (1 << 17), `reported missing: ${missing}`);
  assert.ok(w.resetCount > 1000, `jumps past the bound are resets (${w.resetCount})`);
  assert.ok(resets.length <= 64, 'reset records are bounded too');
  // Small skips among them are still gaps, enumerated as runs.
  const v = new GapWatch(0);
  for (const seq of [0, 0xfffffff0, 0xfffffff3]) v.see('g', 1, seq, 0);
  assert.deepEqual(v.sweep(1).gaps.map((g) => [g.from, g.to, g.count]), [[0xfffffff1, 0xfffffff2, 2]]);
});

test('topics parse back into their parts, state topics included', async () => {
  const { topics, parseTopic } = await import('../lib/link/topics');
  assert.deepEqual(parseTopic(topics.features('gw-1', 'abc')), { gateway: 'gw-1', model: 'abc', kind: 'features' });
  assert.deepEqual(parseTopic(topics.state('gw-1')), { gateway: 'gw-1', model: null, kind: 'state' });
  assert.equal(parseTopic('other/x'), null);
  assert.equal(topics.allFeatures(true), '$share/tails/split/+/+/features');
});

test('a bounded map keeps its newest keys, whatever the caller deleted meanwhile', async () => {
  const { BoundedMap } = await import('../lib/link/bounded-map');
  const m = new BoundedMap<number, number>(3);
  for (const k of [1, 2, 3, 4]) m.set(k, k);
  assert.deepEqual([...m.keys()], [2, 3, 4]);
  m.delete(3);
  m.set(5, 5);
  m.set(6, 6);
  assert.deepEqual([...m.keys()], [4, 5, 6]);
  m.set(5, 50); // not new: nothing evicted
  assert.deepEqual([...m.entries()], [[4, 4], [5, 50], [6, 6]]);
  for (let k = 10; k < 5000; k++) m.set(k, k);
  assert.deepEqual([...m.keys()], [4997, 4998, 4999]);
});

test('answers, late and in any order, never reset a stream: a gap its frames opened is still reported', () => {
  const w = new GapWatch(1000, 100);
  for (const seq of [0, 1_000_000, 1_000_005]) w.see('g', 1, seq, 0); // a reset, then a skip of 4
  w.see('g', 1, 0, 10, true); // the answer to seq 0 arrives last: far behind, not a reset
  w.see('g', 1, 5_000_000, 10, true); // nor one far ahead
  assert.equal(w.resetCount, 1);
  assert.deepEqual(w.sweep(2000).gaps.map((g) => [g.from, g.to]), [[1_000_001, 1_000_004]]);
});
