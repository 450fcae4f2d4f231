/**
 * `npm run bench -- sparse [--json] [--dense DIR] [--sparse DIR] [--reps N] [--threads N]`
 * Edge latency of the predefined-sparsity bundle against the dense one: the head (split
 * tensor + exit logits) on the same sample images at batch 1 and 32, median ms per frame.
 * Two paths are timed: `pool` is what split-head pays (ModelRuntime.head: a worker-thread
 * round trip around ORT), `ort` is the same head.onnx in an in-thread session with the
 * pool's session options (the model's own compute, without the message passing). Dense
 * and sparse runs alternate in short rounds so a busy machine slows both alike. Params
 * and MACs come from the manifests' `measured` fields.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ModelRuntime } from '../lib/model';
import { flag } from './flags';

const ROOT = path.resolve(__dirname, '..', '..');
const BATCHES = [1, 32];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 4) => Number(x.toFixed(d));

interface Side {
  name: string;
  rt: ModelRuntime;
  /** The head in an in-thread session, fed prebuilt tensors (making one is not model time). */
  direct(n: number): Promise<unknown>;
  inputs: Map<number, Float32Array>;
}

async function openSide(dir: string, threads: number): Promise<Side> {
  const model = await import('../lib/model');
  const ort = await import('onnxruntime-node');
  const rt = await model.ModelRuntime.open(dir, { workers: 1, intraOpThreads: threads });
  const m = rt.manifest;
  const set = await model.readSamples(rt.bundle);
  const per = model.pixelsPerFrame(m);
  const inputs = new Map<number, Float32Array>();
  for (const n of BATCHES) inputs.set(n, model.preprocessPixels(m, set.images.subarray(0, n * per), n));
  // the pool's session options (lib/model/sessions.ts), so both paths run the same graph
  const session = await ort.InferenceSession.create(rt.bundle.file(m.head.file), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableCpuMemArena: false,
  });
  const dims = m.input.shape.slice(1);
  const tensors = new Map([...inputs].map(([n, x]) => [n, new ort.Tensor('float32', x, [n, ...dims])]));
  return { name: m.name, rt, inputs, direct: (n) => session.run({ [m.head.input]: tensors.get(n)! }) };
}

/** ms per frame of one call of `path` on `side` at batch n. */
async function timeOnce(side: Side, how: 'pool' | 'ort', n: number): Promise<number> {
  const t0 = performance.now();
  if (how === 'pool') await side.rt.head(side.inputs.get(n)!, n);
  else await side.direct(n);
  return (performance.now() - t0) / n;
}

/** The manifest's counts; `fallback` fills what an older manifest lacks (the dense
 * bundle predates headMacs: the sparse manifest's sparsity.dense has them, same rule). */
function counts(side: Side, fallback: Record<string, number> = {}) {
  const meas = (side.rt.manifest.measured ?? {}) as Record<string, number | undefined>;
  const pick = (k: string) => meas[k] ?? fallback[k] ?? null;
  return {
    headParams: pick('headParams'), exitParams: pick('exitParams'),
    headMacs: pick('headMacs'), exitMacs: pick('exitMacs'),
    unsplitAccuracy: pick('unsplitAccuracy'), exitAccuracy: pick('exitAccuracy'),
  };
}

export async function run(args: string[]): Promise<unknown> {
  const denseDir = path.resolve(flag(args, 'dense') ?? path.join(ROOT, 'models', 'fmnist-cnn'));
  const sparseDir = path.resolve(flag(args, 'sparse') ?? path.join(ROOT, 'models', 'fmnist-cnn-sparse'));
  const reps = Number(flag(args, 'reps') ?? 400);
  const threads = Number(flag(args, 'threads') ?? 1);
  const sides = [await openSide(denseDir, threads), await openSide(sparseDir, threads)];
  try {
    const latency: Record<string, unknown> = {};
    for (const how of ['pool', 'ort'] as const) {
      for (const n of BATCHES) {
        // batch 32 does 32x the work per call: fewer calls give as many frames
        const calls = Math.max(20, Math.round(reps / Math.sqrt(n)));
        const times: number[][] = [[], []];
        for (const s of sides) for (let i = 0; i < 10; i++) await timeOnce(s, how, n); // warm-up
        for (let done = 0; done < calls; done += 10) {
          for (let k = 0; k < 2; k++) for (let i = 0; i < 10; i++) times[k].push(await timeOnce(sides[k], how, n));
        }
        const [d, s] = times.map(median);
        latency[`${how}Batch${n}`] = { denseMsPerFrame: round(d), sparseMsPerFrame: round(s), denseOverSparse: round(d / s, 3), calls: times[0].length };
      }
    }
    const sparsity = (sides[1].rt.manifest as unknown as { sparsity?: { dense?: Record<string, number> } }).sparsity ?? null;
    const dc = counts(sides[0], sparsity?.dense);
    const sc = counts(sides[1]);
    const ratio = (a: number | null, b: number | null) => (a !== null && b ? round(a / b, 3) : null);
    const sum = (a: number | null, b: number | null) => (a !== null && b !== null ? a + b : null);
    return {
      bench: 'sparse', threads, batches: BATCHES,
      dense: { bundle: path.relative(process.cwd(), denseDir), ...dc },
      sparse: { bundle: path.relative(process.cwd(), sparseDir), ...sc, sparsity },
      denseOverSparse: {
        headExitParams: ratio(sum(dc.headParams, dc.exitParams), sum(sc.headParams, sc.exitParams)),
        headExitMacs: ratio(sum(dc.headMacs, dc.exitMacs), sum(sc.headMacs, sc.exitMacs)),
      },
      latency,
    };
  } finally {
    for (const s of sides) await s.rt.close();
  }
}
