// The exit promise under drift: the label-free alarm's false-alarm rate and delay, the
// confidence sequence's coverage when the audit share adapts to the past (and its failure
// when the share looks at the audited frame), the audit ride, and a gate that recovers
// from a scripted drift within a bounded number of frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfidenceSequence, DriftAlarm, ExitPromise, checkSettings, riskTable } from '../lib/exit';
import type { ExitRisk } from '../lib/model/manifest';
import { seeded } from '../bench/shifts';

const slack = (p: number, runs: number) => 3 * Math.sqrt((p * (1 - p)) / runs);

test('the drift alarm stays silent on the calibrated rate and fires soon after it triples', () => {
  const draw = seeded(11);
  let falseAlarms = 0;
  const alarm = new DriftAlarm(0.5, 0.06);
  for (let i = 0; i < 200_000; i++) if (alarm.observe(draw() < 0.06 ? 0.4 : 0.9)) falseAlarms++;
  assert.equal(falseAlarms, 0, 'no alarm in 200,000 calibrated frames');
  const delays: number[] = [];
  for (let r = 0; r < 50; r++) {
    const a = new DriftAlarm(0.5, 0.06);
    let f = 0;
    while (!a.observe(draw() < 0.2 ? 0.4 : 0.9)) f++;
    delays.push(f);
  }
  assert.ok(Math.max(...delays) < 400, `alarm delays ${Math.min(...delays)}..${Math.max(...delays)} frames at 20% below`);
  const e = new DriftAlarm(0.5, 0.06);
  let fired = null;
  while (!fired) fired = e.observe(0.4);
  assert.ok(fired.below === fired.frames && fired.statistic >= alarm.h && fired.expected === 0.06);
});

test('an audit share that depends on the past keeps the sequence covering; one that looks at the frame does not', () => {
  const delta = 0.1;
  const draw = seeded(12);
  const runs = 150;
  const p = 0.03;
  const coverage = (share: (loss: 0 | 1, past: { n: number; losses: number; frame: number }) => number) => {
    let missed = 0;
    for (let r = 0; r < runs; r++) {
      const cs = new ConfidenceSequence(delta);
      let bad = false;
      for (let frame = 0; frame < 20_000 && !bad && cs.n < 1500; frame++) {
        const loss: 0 | 1 = draw() < p ? 1 : 0;
        if (draw() >= share(loss, { n: cs.n, losses: cs.losses, frame })) continue;
        cs.push(loss);
        const b = cs.bounds();
        if (p < b.lower || p > b.upper) bad = true;
      }
      if (bad) missed++;
    }
    return missed / runs;
  };
  // Surges after audits that disagreed, and windows of frames (the ride after a forward): past only.
  const adaptive = coverage((_loss, past) => (past.losses > past.n * 0.05 || past.frame % 50 < 10 ? 0.5 : 0.02));
  assert.ok(adaptive <= delta + slack(delta, runs), `adaptive share missed in ${adaptive}`);
  // A share that audits disagreeing frames more overstates the rate: the bound loses p.
  const peeking = coverage((loss) => (loss ? 0.5 : 0.1));
  assert.ok(peeking > 0.5, `peeking share missed in only ${peeking}`);
});

/** A synthetic exit branch: confidence c = u^power, disagreement with probability scale * (1 - c)^2. */
function stream(seed: number, power: number, scale: number) {
  const draw = seeded(seed);
  return () => {
    const c = Math.pow(draw(), power);
    return { confidence: c, loss: (draw() < scale * (1 - c) ** 2 ? 1 : 0) as 0 | 1 };
  };
}

function calibration(power = 0.25, scale = 0.3): ExitRisk {
  const next = stream(21, power, scale);
  const samples = Array.from({ length: 20_000 }, next);
  const table = riskTable(samples).map((r) => ({ threshold: r.threshold, exited: r.exited, disagree: r.losses }));
  return { dataset: 'synthetic', samples: samples.length, table, certified: [] } as unknown as ExitRisk;
}

test('audits ride only with a recent forward, for exits and forwarded frames alike', () => {
  const p = new ExitPromise(checkSettings({ epsilon: 0.02, delta: 0.05, auditShare: 0.5, auditRideMs: 1000 }), calibration(), seeded(5));
  const high = 0.99;
  for (let t = 0; t < 50; t++) assert.equal(p.draw(0, high, true, t * 100), null, 'no forward yet: nothing to ride with');
  p.draw(0, 0.01, false, 10_000); // a forward (below the audit floor: not itself a candidate)
  let drawn = 0;
  for (let t = 1; t <= 10; t++) if (p.draw(0, high, true, 10_000 + t * 100)) drawn++;
  assert.ok(drawn >= 1 && drawn <= 10, `${drawn} of 10 riding exits drawn at share 0.5`);
  for (let t = 0; t < 20; t++) assert.equal(p.draw(0, high, true, 11_500 + t * 100), null, 'the ride is over');
});

test('the gate recovers from a scripted drift within 2,000 frames and stays under epsilon', () => {
  const risk = calibration();
  const epsilon = 0.02;
  for (const seed of [1, 2, 3, 4, 5]) {
    const p = new ExitPromise(checkSettings({ epsilon, delta: 0.05, auditShare: 0.01, auditRideMs: 1000 }), risk, seeded(100 + seed));
    const clean = stream(200 + seed, 0.25, 0.3);
    // The drift: more frames at low confidence, and each disagrees 4x as often.
    const drifted = stream(300 + seed, 0.6, 1.2);
    const due: { at: number; id: number; loss: 0 | 1 }[] = [];
    let exits = 0; let losses = 0; let changedAt = -1;
    const certified = p.threshold;
    for (let f = 0; f < 12_000; f++) {
      const now = f * 100;
      while (due.length && due[0].at <= now) { const d = due.shift()!; p.answer(d.id, d.loss); }
      const s = (f < 4000 ? clean : drifted)();
      const exited = s.confidence >= p.threshold;
      const ticket = p.draw(0, s.confidence, exited, now);
      if (ticket) due.push({ at: now + 2000, id: ticket.id, loss: s.loss });
      if (p.observe(s.confidence) && changedAt < 0) changedAt = f;
      if (f < 4000) assert.equal(p.threshold, certified, `seed ${seed}: no change before the drift (frame ${f})`);
      if (f >= 6000 && exited) { exits++; losses += s.loss; }
    }
    assert.ok(changedAt >= 4000 && changedAt < 4500, `seed ${seed}: tightened at frame ${changedAt}`);
    assert.ok(exits > 200 && losses / exits <= epsilon, `seed ${seed}: ${losses} of ${exits} exits disagreed from 2,000 frames after the drift`);
    assert.equal(p.guard.changes[0].drift?.level, p.watch.level, 'the change carries the alarm evidence');
  }
});

test('after a drift that ends, the gate buys audits and re-earns exits on their evidence', () => {
  // A branch whose thresholds are spaced like the bundle's near the drift threshold (in a
  // ladder packed tight at the top the next rung up sees too few of the 1,000 audits).
  const risk = calibration(0.2, 1);
  const epsilon = 0.02;
  for (const seed of [1, 2, 3, 4, 5]) {
    const p = new ExitPromise(checkSettings({ epsilon, delta: 0.05, auditShare: 0.005, auditRideMs: 1000 }), risk, seeded(500 + seed));
    const clean = stream(600 + seed, 0.2, 1);
    const drifted = stream(700 + seed, 0.5, 3);
    const events: string[] = [];
    p.onStream = (e) => events.push(e.kind);
    const due: { at: number; id: number; loss: 0 | 1 }[] = [];
    let drift = Infinity;
    for (let f = 0; f < 14_000; f++) {
      const now = f * 100;
      while (due.length && due[0].at <= now) { const d = due.shift()!; p.answer(d.id, d.loss); }
      const s = (f >= 4000 && f < 6000 ? drifted : clean)();
      const ticket = p.draw(0, s.confidence, s.confidence >= p.threshold, now);
      if (ticket) due.push({ at: now + 2000, id: ticket.id, loss: s.loss });
      p.observe(s.confidence);
      if (f === 5999) drift = p.threshold;
    }
    assert.deepEqual(events, ['left', 'back'], `seed ${seed}: the stream left and came back`);
    const relaxed = p.guard.changes.filter((c) => c.kind === 'relax');
    assert.ok(relaxed.length > 0 && p.threshold < drift, `seed ${seed}: threshold ${p.threshold} at the end, ${drift} at the drift's end`);
    for (const c of relaxed) assert.ok(c.evidence.upper <= epsilon, 'each relax on an upper bound <= epsilon');
  }
});
