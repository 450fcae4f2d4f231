// The rate controller driven by scripted link traces (test/vectors/link-traces.json): a
// link that halves, one that drops for 5 s, one that recovers, and a bursty gateway on a
// batched link. Each run compares `auto` with fixed levels on the same trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RateController } from '../lib/rate/controller';
import { LinkTrace, SimFrame, simulateLink, summarize } from '../lib/rate/link-sim';

const vectors = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../test/vectors/link-traces.json'), 'utf8')) as {
  fps: number; targetMs: number; bytesPerFrame: number[]; traces: LinkTrace[];
};
const { fps, targetMs, bytesPerFrame } = vectors;
const top = bytesPerFrame.length - 1;
const trace = (name: string) => vectors.traces.find((t) => t.name === name)!;

function runAuto(name: string): SimFrame[] {
  const c = new RateController({ levels: bytesPerFrame.length, bytesPerFrame, targetMs });
  return simulateLink({ trace: trace(name), fps, bytesPerFrame, choose: (s, now) => c.next(s, now) });
}
const runFixed = (name: string, level: number) => simulateLink({ trace: trace(name), fps, bytesPerFrame, choose: () => level });
const levelsIn = (frames: SimFrame[], from: number, to: number) => new Set(frames.filter((f) => f.capturedAt >= from && f.capturedAt < to).map((f) => f.level));

test('a link that halves: auto steps down to what fits and holds the latency target; the top level alone does not', () => {
  const auto = runAuto('halves');
  const before = summarize(auto, 5000, 20000);
  const after = summarize(auto, 22000, 40000);
  assert.ok(before.meanLevel >= top - 0.5, `at 256 kbit/s the top level fits: mean level ${before.meanLevel}`);
  assert.ok(before.p95Ms <= targetMs, `p95 ${before.p95Ms} ms before the change`);
  assert.ok(after.p95Ms <= targetMs, `p95 ${after.p95Ms} ms after the link halved`);
  // 128 kbit/s carries 16,000 B/s: at 200 frames/s that is up to level 2 (58 B), not 3 (81 B)
  assert.ok(after.meanLevel >= 1.5 && after.meanLevel <= 2.5, `mean level ${after.meanLevel} after halving`);
  // The queue needs about a second to reach the target at 4,000 B/s too many; then it acts.
  assert.ok(Math.max(...levelsIn(auto, 21500, 22000)) <= 2, 'within 1.5 s of the change it is at a level that fits');
  const fixedTop = summarize(runFixed('halves', top), 22000, 40000);
  assert.ok(fixedTop.p95Ms > 10 * targetMs, `the fixed top level piles up: p95 ${fixedTop.p95Ms} ms`);
  const fixedSmallest = summarize(runFixed('halves', 0), 22000, 40000);
  assert.ok(after.meanLevel > fixedSmallest.meanLevel + 1, 'and auto sends larger (more accurate) frames than the smallest level');
});

test('a link that drops for 5 s: the smallest level while it is gone, the backlog drains, the level climbs back', () => {
  const auto = runAuto('drops');
  assert.deepEqual([...levelsIn(auto, 10000, 15000)], [0], 'offline frames go at the smallest level');
  const frames = auto.filter((f) => f.capturedAt >= 10000 && f.capturedAt < 15000);
  assert.equal(frames.length, 5 * fps);
  assert.ok(frames.every((f) => Number.isFinite(f.answeredAt)), 'every frame held through the outage is answered');
  const settled = summarize(auto, 20000, 40000);
  assert.ok(settled.p95Ms <= targetMs, `p95 ${settled.p95Ms} ms once the backlog drained`);
  assert.ok(Math.min(...levelsIn(auto, 35000, 40000)) >= top - 1, 'back near the top level within 20 s');
  // The smallest frames drain the backlog faster than the top level would have.
  const drainAuto = auto.find((f) => f.capturedAt >= 15000 && f.answeredAt - f.capturedAt <= 2 * 2 * 25 + 20)!.capturedAt;
  const fixedTop = runFixed('drops', top);
  const drainTop = fixedTop.find((f) => f.capturedAt >= 15000 && f.answeredAt - f.capturedAt <= 2 * 2 * 25 + 20)!.capturedAt;
  assert.ok(drainAuto < drainTop, `auto drains by ${drainAuto} ms, the top level by ${drainTop} ms`);
});

test('a link that recovers: auto climbs from what 96 kbit/s carries to the top level once it is 256 kbit/s', () => {
  const auto = runAuto('recovers');
  const slow = summarize(auto, 5000, 20000);
  assert.ok(slow.p95Ms <= targetMs, `p95 ${slow.p95Ms} ms on the slow link`);
  assert.ok(slow.meanLevel >= 0.8 && slow.meanLevel <= 2.2, `mean level ${slow.meanLevel} on 96 kbit/s`);
  assert.deepEqual([...levelsIn(auto, 35000, 40000)], [top], 'at the top level within 15 s of the recovery');
  assert.ok(summarize(auto, 20000, 40000).p95Ms <= targetMs, 'without breaking the target on the way up');
});

test('a level that congests the link is probed again later each time (no latency spike every few seconds)', () => {
  const c = new RateController({ levels: 2, bytesPerFrame: [50, 100], targetMs: 100, upAfterMs: 1000, probeBackoffMs: 2000 });
  const calm = { pending: 0, latencyMsP95: 10, ackedBytesPerSec: 4000, connected: true };
  const full = { pending: 100, latencyMsP95: 500, ackedBytesPerSec: 6000, connected: true };
  const probes: number[] = [];
  let level = c.next(full, 0);
  assert.equal(level, 0, 'congested at the top: budget 0.8 × 6000 B/s ÷ fps is below 100 B');
  for (let t = 10; t < 60_000; t += 10) {
    const next = c.next(level === 1 ? full : calm, t);
    if (next === 1 && level === 0) probes.push(t);
    level = next;
  }
  const gaps = probes.slice(1).map((t, i) => t - probes[i]);
  assert.ok(probes.length >= 3 && probes.length <= 6, `${probes.length} probes in a minute`);
  assert.ok(gaps.every((g, i) => i === 0 || g > gaps[i - 1]), `waits grow: ${gaps.join(', ')} ms`);
});

test('without byte costs it steps down one level at a time; offline is always the smallest level', () => {
  const c = new RateController({ levels: 4, targetMs: 100, upAfterMs: 50 });
  assert.equal(c.current, 3);
  // 100 frames/s: 50 pending frames are a 500 ms wait, over the 100 ms target
  for (let t = 0; t < 1000; t += 10) c.next({ pending: 0, latencyMsP95: 20, connected: true }, t);
  assert.equal(c.next({ pending: 50, latencyMsP95: 20, connected: true }, 1000), 2, 'a backlog counts as behind');
  assert.equal(c.next({ pending: 2, latencyMsP95: 400, connected: true }, 1200), 2, 'the latency still remembers the queue it stepped down for');
  assert.equal(c.next({ pending: 2, latencyMsP95: 400, connected: true }, 3100), 1, 'a latency still slow 2 s later counts as behind');
  assert.equal(c.next({ pending: 0, latencyMsP95: null, connected: false }, 3200), 0);
  const calm = { pending: 0, latencyMsP95: 20, connected: true };
  const levels = Array.from({ length: 40 }, (_, i) => c.next(calm, 10_000 + i * 10));
  assert.deepEqual([levels[4], levels[6], levels[11], levels[16]], [0, 1, 2, 3]);
  assert.throws(() => new RateController({ levels: 2, bytesPerFrame: [1] }), /bytesPerFrame needs 2/);
});

test('a gateway that forwards in bursts over a batched link: auto climbs to the top level where it fits', () => {
  const auto = runAuto('bursts-256k');
  const settled = summarize(auto, 10000, 40000);
  assert.ok(settled.p95Ms <= targetMs, `p95 ${settled.p95Ms} ms`);
  assert.ok(settled.meanLevel >= top - 0.2, `every level fits 256 kbit/s, mean level ${settled.meanLevel}`);
  // The depth saw-tooths with the bursts and the batched answers: pending ÷ fps alone
  // reads each peak as a full link, which is why the link reports its oldest frame's age.
  const c = new RateController({ levels: bytesPerFrame.length, bytesPerFrame, targetMs });
  const byDepth = simulateLink({ trace: trace('bursts-256k'), fps, bytesPerFrame, choose: (s, now) => c.next({ ...s, oldestPendingMs: undefined }, now) });
  assert.ok(summarize(byDepth, 10000, 40000).meanLevel < 1, 'judged by the depth alone it stays at the bottom');
});

test('bursts on a slow link: auto leaves the levels whose bursts alone break the target', () => {
  const auto = summarize(runAuto('bursts-64k'), 10000, 40000);
  const fixedTop = summarize(runFixed('bursts-64k', top), 10000, 40000);
  assert.ok(fixedTop.p95Ms > targetMs, `the top level breaks the target: p95 ${fixedTop.p95Ms} ms`);
  assert.ok(auto.p95Ms <= targetMs, `auto holds it: p95 ${auto.p95Ms} ms at mean level ${auto.meanLevel}`);
});

test('a link that keeps up but is slow anyway steps down one level; a full one jumps to its byte budget', () => {
  const costs = [48, 51, 58, 81, 100];
  const stepFrom = (ackedBytesPerSec: number) => {
    const c = new RateController({ levels: 5, bytesPerFrame: costs, targetMs: 100 });
    // 100 frames/s at the top level (100 B): 10,000 B/s sent
    for (let t = 0; t < 1000; t += 10) c.next({ pending: 0, latencyMsP95: 20, ackedBytesPerSec, connected: true }, t);
    return c.next({ pending: 3, oldestPendingMs: 30, latencyMsP95: 400, ackedBytesPerSec, connected: true }, 1000);
  };
  assert.equal(stepFrom(10_000), 3, 'all 10,000 B/s acknowledged: the bytes are not what is slow');
  assert.equal(stepFrom(6_000), 0, '6,000 of 10,000 B/s: budget 0.8 × 60 B, level 0 (48 B)');
  assert.equal(stepFrom(8_000), 2, '8,000 B/s: budget 0.8 × 80 B = 64 B, level 2 (58 B)');
});
