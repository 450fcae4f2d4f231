// The math of the exit promise: exact binomial bounds, Learn-then-Test's family-wise error,
// the confidence sequence's anytime coverage, and the guard's response to a scripted drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binomialCdf, binomialPmf, clopperPearsonUpper, clopperPearsonLower, learnThenTest, checkLevel,
  ConfidenceSequence, ExitGuard, AuditLedger, type RiskSample,
} from '../lib/exit';
import { seeded } from '../bench/shifts';

const rng = seeded;
/** Allowed slack for a frequency over `runs` trials: 3 standard errors at rate p. */
const slack = (p: number, runs: number) => 3 * Math.sqrt((p * (1 - p)) / runs);

test('binomial cdf sums the pmf exactly', () => {
  let s = 0;
  for (let k = 0; k <= 7; k++) s += binomialPmf(k, 40, 0.13);
  assert.ok(Math.abs(s - binomialCdf(7, 40, 0.13)) < 1e-12);
  assert.ok(Math.abs(binomialCdf(0, 10, 0.5) - 1 / 1024) < 1e-15);
});

test('Clopper-Pearson fails at the exact rate its distribution gives, never above delta', () => {
  const delta = 0.05;
  const draw = rng(1);
  for (const [n, p] of [[50, 0.1], [200, 0.02], [1000, 0.01]] as const) {
    const upper: number[] = [];
    for (let k = 0; k <= n; k++) upper.push(clopperPearsonUpper(k, n, delta));
    // Exact failure probability: the mass of the k whose bound lies below the true p.
    let exact = 0;
    for (let k = 0; k <= n; k++) if (upper[k] < p) exact += binomialPmf(k, n, p);
    assert.ok(exact <= delta, `n=${n} p=${p}: exact failure ${exact}`);
    const runs = 4000;
    let failed = 0;
    for (let r = 0; r < runs; r++) {
      let k = 0;
      for (let i = 0; i < n; i++) if (draw() < p) k++;
      if (upper[k] < p) failed++;
    }
    assert.ok(Math.abs(failed / runs - exact) <= slack(exact, runs) + 1e-9, `n=${n} p=${p}: simulated ${failed / runs}, exact ${exact}`);
    assert.ok(clopperPearsonLower(Math.round(n * p), n, delta) < p);
  }
});

test('Learn-then-Test certifies a threshold whose true exited risk exceeds epsilon in <= delta of calibrations', () => {
  // Confidence ~ U(0,1), a wrong answer with probability 0.1·(1−c): the exited risk at t is
  // 0.05·(1−t) exactly, so the lowest safe threshold for epsilon = 2% is 0.6.
  const epsilon = 0.02;
  const delta = 0.1;
  const trueRisk = (t: number) => 0.05 * (1 - t);
  const draw = rng(2);
  const runs = 300;
  let broken = 0;
  let exits = 0;
  for (let r = 0; r < runs; r++) {
    const samples: RiskSample[] = [];
    for (let i = 0; i < 2000; i++) {
      const c = draw();
      samples.push({ confidence: c, loss: draw() < 0.1 * (1 - c) ? 1 : 0 });
    }
    const choice = learnThenTest(samples, epsilon, delta);
    if (choice.threshold !== null && trueRisk(choice.threshold) > epsilon) broken++;
    exits += choice.exitRate;
  }
  assert.ok(broken / runs <= delta + slack(delta, runs), `broken in ${broken} of ${runs}`);
  // Not vacuous: of the 40% that could safely exit, 2,000 samples certify about a third.
  assert.ok(exits / runs > 0.1, `mean exit rate ${exits / runs}`);
});

test('Learn-then-Test certifies nothing when every threshold is worse than epsilon', () => {
  const samples: RiskSample[] = Array.from({ length: 500 }, (_, i) => ({ confidence: i / 500, loss: i % 10 === 0 ? 1 : 0 }));
  assert.equal(learnThenTest(samples, 0.02, 0.05).threshold, null);
});

test('epsilon and delta outside (0, 1) are refused with the name of the setting', () => {
  for (const bad of [0, 1, -0.1, 2, 'x', '', null]) assert.throws(() => checkLevel('epsilon', bad), /epsilon must be a number in \(0, 1\)/);
  assert.equal(checkLevel('delta', '0.05'), 0.05);
});

test('the confidence sequence covers the true rate at all times at once in >= 1 - delta of streams', () => {
  const delta = 0.1;
  const draw = rng(3);
  for (const p of [0.01, 0.05, 0.3]) {
    const runs = 150;
    let everMissed = 0;
    for (let r = 0; r < runs; r++) {
      const cs = new ConfidenceSequence(delta);
      let missed = false;
      for (let i = 0; i < 1000 && !missed; i++) {
        cs.push(draw() < p ? 1 : 0);
        const b = cs.bounds();
        if (p < b.lower || p > b.upper) missed = true;
      }
      if (missed) everMissed++;
    }
    assert.ok(everMissed / runs <= delta + slack(delta, runs), `p=${p}: missed in ${everMissed} of ${runs}`);
  }
  // And it narrows: 3000 audits at 1% put the upper bound under 2%.
  const cs = new ConfidenceSequence(0.05);
  for (let i = 0; i < 3000; i++) cs.push(draw() < 0.01 ? 1 : 0);
  assert.ok(cs.bounds().upper < 0.02, `upper ${cs.bounds().upper}`);
});

test('the guard tightens on a scripted drift, with its evidence, and relaxes once audits allow', () => {
  const draw = rng(4);
  const guard = new ExitGuard({ rungs: [0.8, 0.9, 0.97, Infinity], epsilon: 0.02, delta: 0.05 });
  // Normal: 0.5% wrong among exits. Drift: 25% wrong below confidence 0.97, 0.5% above.
  const wrong = (c: number, drift: boolean) => (drift && c < 0.97 ? 0.25 : 0.005);
  const audit = (drift: boolean) => {
    const c = 0.8 + 0.2 * draw();
    return guard.record(c, draw() < wrong(c, drift) ? 1 : 0);
  };
  for (let i = 0; i < 2000; i++) assert.equal(audit(false), null, 'no change while the promise holds');
  assert.ok(guard.bounds().upper <= 0.02, `upper before drift ${guard.bounds().upper}`);
  let tightenedAfter = -1;
  for (let i = 0; i < 2000; i++) {
    const c = audit(true);
    if (c?.kind === 'tighten' && tightenedAfter < 0) tightenedAfter = i;
    if (c) assert.ok(c.kind === 'tighten' ? c.evidence.lower > 0.02 : c.evidence.upper <= 0.02);
  }
  assert.ok(tightenedAfter >= 0 && tightenedAfter < 100, `tightened after ${tightenedAfter} audits`);
  assert.equal(guard.threshold, 0.97, 'settles on the rung that holds under drift');
  let relaxed = false;
  for (let i = 0; i < 6000 && guard.tightened; i++) if (audit(false)?.kind === 'relax') relaxed = true;
  assert.ok(relaxed && guard.threshold === guard.auditFloor, `threshold after drift ${guard.threshold}`);
  for (const c of guard.changes) assert.ok(c.evidence.n > 0);
});

test('the audit ledger stays bounded, closes each audit once and drops stale ones uncounted', () => {
  const ledger = new AuditLedger(3, 1000);
  const ids = [0, 1, 2, 3].map((i) => ledger.open(i, 0.9, 0));
  assert.equal(ledger.size, 3);
  assert.equal(ledger.close(ids[0]), undefined, 'the oldest went when the ledger was full');
  assert.equal(ledger.close(ids[1])?.index, 1);
  assert.equal(ledger.close(ids[1]), undefined, 'an answer counts once');
  assert.ok(ledger.stalled(600));
  ledger.open(9, 0.9, 5000);
  assert.equal(ledger.size, 1, 'expired entries are dropped');
});
