/**
 * Early exits with a guarantee, on Fashion-MNIST: the calibrated table threshold (plug-in:
 * the lowest whose validation disagreement is <= epsilon), the bundle's fixed threshold and
 * the audited promise gate (lib/exit/promise), on a stream of the held-out half of the test
 * set and on streams where a shift (blur, noise, contrast, rotation) starts part-way.
 * Calibration is the manifest's exit.risk (the validation half); everything reported is on
 * the held-out half. Disagreement = exit answer != the full model's, known offline.
 *
 * The audit's cost is the extra uplink link bytes its copies add at the low-rate scenario's
 * camera rate (bench/audit-bytes.ts: modelled from real frame, batch and MQTT encodings).
 *
 *   npm run bench -- exits [--json] [--runs 20] [--epsilon 0.02] [--delta 0.05] [--share 0.005] [--ride-ms 1000]
 */
import * as path from 'node:path';
import { flag } from './flags';
import { shiftImages, SHIFTS, seeded, type Shift } from './shifts';
import { ModelRuntime } from '../lib/model';
import { readFashionMnistTest } from '../lib/eval/idx';
import { exitOutcomes, type ExitOutcomes } from '../lib/eval/exit-risk';
import { ExitPromise, checkSettings } from '../lib/exit/promise';
import { AuditLedger } from '../lib/exit/ledger';
import { LOW_RATE, UplinkModel, auditExtraUplink, type Sent } from './audit-bytes';

const BUNDLE = path.resolve(__dirname, '..', '..', 'models', 'fmnist-cnn');
const CLEAN_FRAMES = 5000;
const SHIFT_AT = 2000;
const SHIFT_FRAMES = 8000;
const BLOCK = 500;
/** The goal: back under epsilon within this many frames of the shift. */
const RECOVER_WITHIN = 2000;
/** Transient streams: the shift lasts this many frames, then the clean camera is back. */
const TRANSIENT_FRAMES = 2000;
/** Frames arrive at the low-rate scenario's camera rate; audit answers come back 2 s later (coalescing both ways and the round trip). */
const FRAME_MS = 1000 / LOW_RATE.fps;
const LAG_MS = 2000;

interface Policy { name: string; make(random: () => number): { threshold(): number; audit?(conf: number, exited: boolean, loss: 0 | 1, now: number): boolean; tick?(now: number): void; bound?(): number } }

interface RunResult { exits: number; frames: number; disagree: number; audits: number; forwards: number; sent: Sent[]; blocks: { exits: number; losses: number; exitRate: number; disagreement: number | null; upper: number | null; threshold: number }[] }

function run(policy: Policy, conf: Float64Array, loss: Uint8Array, order: Int32Array, random: () => number): RunResult {
  const p = policy.make(random);
  const r: RunResult = { exits: 0, frames: order.length, disagree: 0, audits: 0, forwards: 0, sent: [], blocks: [] };
  let bExits = 0; let bLoss = 0;
  for (let f = 0; f < order.length; f++) {
    const i = order[f];
    const now = f * FRAME_MS;
    p.tick?.(now);
    const t = p.threshold();
    const exited = conf[i] >= t;
    if (exited) { r.exits++; bExits++; r.disagree += loss[i]; bLoss += loss[i]; } else { r.forwards++; r.sent.push({ frame: f, audit: false }); }
    if (p.audit?.(conf[i], exited, loss[i] as 0 | 1, now) && exited) { r.audits++; r.sent.push({ frame: f, audit: true }); }
    if ((f + 1) % BLOCK === 0) {
      r.blocks.push({ exits: bExits, losses: bLoss, exitRate: bExits / BLOCK, disagreement: bExits ? bLoss / bExits : null, upper: p.bound?.() ?? null, threshold: t });
      bExits = 0; bLoss = 0;
    }
  }
  return r;
}

function gatePolicy(settings: ReturnType<typeof checkSettings>, risk: NonNullable<NonNullable<ModelRuntime['manifest']['exit']>['risk']>): Policy {
  return {
    name: 'audited gate',
    make(random) {
      const promise = new ExitPromise(settings, risk, random, new AuditLedger());
      const due: { at: number; id: number; cloud: number }[] = [];
      return {
        threshold: () => promise.threshold,
        audit(conf, exited, loss, now) {
          const ticket = promise.draw(0, conf, exited, now);
          promise.observe(conf);
          // The ledger holds the edge's answer as index 0; the cloud's differs exactly when the models disagree.
          if (ticket) due.push({ at: now + LAG_MS, id: ticket.id, cloud: loss ? 1 : 0 });
          return ticket !== null && ticket.copy;
        },
        tick(now) { while (due.length && due[0].at <= now) { const d = due.shift()!; promise.answer(d.id, d.cloud); } },
        bound: () => promise.guard.bounds().upper,
      };
    },
  };
}

const fixedPolicy = (name: string, t: number): Policy => ({ name, make: () => ({ threshold: () => t }) });

function summarize(results: RunResult[], epsilon: number) {
  const rate = (r: RunResult) => (r.exits ? r.disagree / r.exits : 0);
  return {
    runs: results.length,
    runsWithinEpsilon: results.filter((r) => rate(r) <= epsilon).length / results.length,
    disagreement: mean(results.map(rate)),
    exitRate: mean(results.map((r) => r.exits / r.frames)),
    auditsPerFrame: mean(results.map((r) => r.audits / r.frames)),
  };
}

/** Frames after the shift until every later block's exited disagreement is <= epsilon (null: never). */
function recovery(r: RunResult, epsilon: number): number | null {
  const first = SHIFT_AT / BLOCK;
  let good = r.blocks.length;
  for (let b = r.blocks.length - 1; b >= first; b--) {
    if ((r.blocks[b].disagreement ?? 0) > epsilon) break;
    good = b;
  }
  return good >= r.blocks.length ? null : (good + 1) * BLOCK - SHIFT_AT;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export async function run_(args: string[]): Promise<unknown> {
  const runs = Number(flag(args, 'runs') ?? 20);
  const settings = checkSettings({ epsilon: flag(args, 'epsilon') ?? '0.02', delta: flag(args, 'delta') ?? '0.05', auditShare: flag(args, 'share') ?? '0.005', auditRideMs: flag(args, 'ride-ms') });
  const test = await readFashionMnistTest();
  if (!test) throw new Error('exits bench needs the Fashion-MNIST test set');
  const rt = await ModelRuntime.open(BUNDLE, { ortLogSeverity: 3 });
  try {
    const m = rt.manifest;
    const risk = m.exit?.risk;
    if (!risk) throw new Error('the bundle has no exit.risk: run split-dnn eval --update-manifest');
    const side = m.input.source.width;
    const per = side * side;
    const half = test.count / 2;
    const held = test.images.subarray(half * per);
    const lossOf = (o: ExitOutcomes) => Uint8Array.from(o.exitPred, (p, i) => (p === o.tailPred[i] ? 0 : 1));
    const clean = await exitOutcomes(rt, held, half);
    const shifted = new Map<Shift, ExitOutcomes>();
    for (const s of SHIFTS) shifted.set(s, await exitOutcomes(rt, shiftImages(held, side, s, seeded(99)), half));
    // Plug-in table threshold: the lowest whose validation disagreement is <= epsilon, no bound.
    const table = [...risk.table].filter((r) => r.exited > 0 && r.disagree / r.exited <= settings.epsilon).sort((a, b) => a.threshold - b.threshold)[0]?.threshold ?? Infinity;
    const policies = [fixedPolicy('table threshold', table), fixedPolicy('fixed threshold', m.exit!.defaultThreshold), gatePolicy(settings, risk)];
    // Frames at the finest rate level (the most bytes an audit copy can cost), a coded
    // payload of the measured mean size (random bytes: coded symbols do not deflate).
    const level = m.rates.length - 1;
    const rnd = seeded(7);
    const payload = Uint8Array.from({ length: Math.ceil(m.rates[level].measured?.codedBytes ?? 0) }, () => Math.floor(rnd() * 256));
    const uplink = new UplinkModel(LOW_RATE, { modelId: rt.modelId, rateLevel: level, shape: m.rates[level].symbolShape, payload });
    const audited = (res: RunResult[]) => {
      const a = res.map((r) => auditExtraUplink(uplink, r.sent, r.frames));
      const perMinute = (bytes: number) => (60_000 * bytes) / (res[0].frames * FRAME_MS);
      return { extra: r4(mean(a.map((x) => x.extra))), extraMax: r4(Math.max(...a.map((x) => x.extra))), bytesPerMinuteWithout: Math.round(mean(a.map((x) => perMinute(x.withoutAudit)))), bytesPerMinuteWith: Math.round(mean(a.map((x) => perMinute(x.withAudit)))) };
    };

    const out: Record<string, unknown> = {
      epsilon: settings.epsilon, delta: settings.delta, auditShare: settings.auditShare, auditRideMs: settings.auditRideMs, runs, calibration: risk.dataset, heldOut: `fashion-mnist-test-10k, last ${half}`,
      uplinkModel: { ...LOW_RATE, rateLevel: level, payloadBytes: payload.length, auditFrameBytes: 'wire v2 features frame + 1 B batch length', counted: '(uplink bytes with audit copies - without) / without; MQTT, IP/TCP headers, ACKs of the answers, keepalive (modelled, bench/audit-bytes.ts)' },
      thresholds: { table, fixed: m.exit!.defaultThreshold },
    };
    const cleanLoss = lossOf(clean);
    const unshifted: Record<string, unknown> = {};
    for (const p of policies) {
      const res: RunResult[] = [];
      for (let s = 0; s < runs; s++) {
        const rnd = seeded(1000 + s);
        const order = Int32Array.from({ length: CLEAN_FRAMES }, () => Math.floor(rnd() * half));
        res.push(run(p, clean.confidence, cleanLoss, order, seeded(2000 + s)));
      }
      const sum = summarize(res, settings.epsilon);
      const forwards = mean(res.map((r) => r.forwards));
      const audits = mean(res.map((r) => r.audits));
      unshifted[p.name] = { ...sum, forwardsPerFrame: r4(forwards / CLEAN_FRAMES), auditsPerExit: r4(audits / Math.max(1, mean(res.map((r) => r.exits)))), auditUplink: audited(res), tightenedRuns: res.filter((r) => r.blocks.some((b) => b.threshold > r.blocks[0].threshold)).length / runs, boundAtEnd: r4(mean(res.map((r) => r.blocks.at(-1)?.upper ?? 1))) };
    }
    out.unshifted = unshifted;
    const shiftsOut: Record<string, unknown> = {};
    for (const s of SHIFTS) {
      // One pool of both versions: indexes below `half` are clean frames, the rest shifted.
      const o = shifted.get(s)!;
      const conf = new Float64Array(2 * half); conf.set(clean.confidence); conf.set(o.confidence, half);
      const loss = new Uint8Array(2 * half); loss.set(cleanLoss); loss.set(lossOf(o), half);
      const perPolicy: Record<string, unknown> = {};
      const transient: Record<string, unknown> = {};
      const stream = (p: Policy, shiftedUntil: number) => Array.from({ length: runs }, (_, k) => {
        const rnd = seeded(3000 + k);
        const order = Int32Array.from({ length: SHIFT_AT + SHIFT_FRAMES }, (_, f) => Math.floor(rnd() * half) + (f >= SHIFT_AT && f < shiftedUntil ? half : 0));
        return run(p, conf, loss, order, seeded(4000 + k));
      });
      for (const p of policies) {
        const res = stream(p, Infinity);
        // The camera is fixed after TRANSIENT_FRAMES: what the last 4,000 frames exit, and at what disagreement.
        const back = stream(p, SHIFT_AT + TRANSIENT_FRAMES);
        const tail = back.map((r) => r.blocks.slice(-4000 / BLOCK));
        const sumOf = (b: RunResult['blocks'], k: 'exits' | 'losses') => b.reduce((a, x) => a + x[k], 0);
        transient[p.name] = {
          exitRateLast4000: r4(mean(tail.map((b) => sumOf(b, 'exits') / 4000))),
          disagreementLast4000: r4(mean(tail.map((b) => sumOf(b, 'losses') / Math.max(1, sumOf(b, 'exits'))))),
          auditUplink: audited(back),
        };
        const after = res.map((r) => r.blocks.slice(SHIFT_AT / BLOCK));
        const rec = res.map((r) => recovery(r, settings.epsilon));
        perPolicy[p.name] = {
          disagreementAfterShift: r4(mean(after.map((b) => mean(b.map((x) => x.disagreement ?? 0))))),
          exitRateAfterShift: r4(mean(after.map((b) => mean(b.map((x) => x.exitRate))))),
          recoveredRuns: rec.filter((x) => x !== null).length / runs,
          recoveredWithin2000: rec.filter((x) => x !== null && x <= RECOVER_WITHIN).length / runs,
          // Less noisy than the per-block test: all exits from RECOVER_WITHIN frames after the shift on, per run.
          runsUnderEpsilonAfter2000: res.filter((r) => { const b = r.blocks.slice((SHIFT_AT + RECOVER_WITHIN) / BLOCK); const n = b.reduce((a, x) => a + x.exits, 0); return n === 0 || b.reduce((a, x) => a + x.losses, 0) / n <= settings.epsilon; }).length / runs,
          framesToRecoverMax: rec.every((x) => x !== null) ? Math.max(...(rec as number[])) : null,
          framesToRecoverMean: rec.some((x) => x !== null) ? mean(rec.filter((x): x is number => x !== null)) : null,
          auditUplink: audited(res),
          overTime: res[0].blocks.map((b, i) => ({
            frame: (i + 1) * BLOCK, threshold: b.threshold, exitRate: r4(b.exitRate), disagreement: b.disagreement === null ? null : r4(b.disagreement), upper: b.upper === null ? null : r4(b.upper),
            // The block's own sends (a message straddling two blocks is counted in each).
            auditExtraUplink: r4(auditExtraUplink(uplink, res[0].sent.filter((x) => x.frame >= i * BLOCK && x.frame < (i + 1) * BLOCK), BLOCK).extra),
          })),
        };
      }
      shiftsOut[s] = { shiftAt: SHIFT_AT, frames: SHIFT_AT + SHIFT_FRAMES, ...perPolicy, transient: { shiftedFrames: TRANSIENT_FRAMES, ...transient } };
    }
    out.shifts = shiftsOut;
    return out;
  } finally {
    await rt.close();
  }
}

export { run_ as run };
