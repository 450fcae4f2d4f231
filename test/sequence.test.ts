import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer, SequenceTracker } from '../lib/link/sequence';
import { RateController } from '../lib/rate/controller';

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

test('the rate controller steps down when the link backs up and climbs back when it drains', () => {
  const c = new RateController({ levels: 4, maxBacklog: 10, upAfter: 5, targetMs: 100 });
  assert.equal(c.current, 3);
  const calm = { pending: 0, rttMsP95: 20, connected: true };
  assert.equal(c.next({ pending: 50, rttMsP95: 20, connected: true }), 2);
  assert.equal(c.next({ pending: 2, rttMsP95: 400, connected: true }), 1, 'a slow round trip counts as behind');
  assert.equal(c.next({ pending: 0, rttMsP95: null, connected: false }), 0, 'offline: smallest frames');
  const levels = Array.from({ length: 20 }, () => c.next(calm));
  assert.deepEqual([levels[3], levels[4], levels[9], levels[14]], [0, 1, 2, 3]);
});

test('topics parse back into their parts, state topics included', async () => {
  const { topics, parseTopic } = await import('../lib/link/topics');
  assert.deepEqual(parseTopic(topics.features('gw-1', 'abc')), { gateway: 'gw-1', model: 'abc', kind: 'features' });
  assert.deepEqual(parseTopic(topics.state('gw-1')), { gateway: 'gw-1', model: null, kind: 'state' });
  assert.equal(parseTopic('other/x'), null);
  assert.equal(topics.allFeatures(true), '$share/tails/split/+/+/features');
});
