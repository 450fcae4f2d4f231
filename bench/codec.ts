/**
 * `npm run bench -- codec [--json] [--bundle DIR | --synthetic] [--frames N]`
 * Coded size against the cross-entropy of the symbols under the tables, encode/decode
 * speed, and gzip/brotli of the same symbols, per rate level. By default the shipped
 * bundle's head and encoders run on its sample images (real split tensors) and the
 * manifest's own tables are used; --bundle picks another bundle. --synthetic codes
 * Laplacian latents instead (per-channel scales, tables from a separate "training" set).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { CoderTables, EntropySpec, QuantSpec, buildCoderTables, crossEntropyBits, decodeSymbols, encodeSymbols, quantize } from '../lib/codec';
import { prng } from './fuzz';
import { flag } from './flags';

interface Level {
  name: string;
  shape: number[];
  quant: QuantSpec;
  tables: CoderTables;
  frames: Int32Array[];
}

/** dist/bench → the package root's shipped bundle. */
const SHIPPED_BUNDLE = path.resolve(__dirname, '..', '..', 'models', 'fmnist-cnn');

const GOALS = { codedOverIdeal: 1.02, encodeMBps: 50, decodeMBps: 50 };

/** Per-channel histograms as the manifest's entropy spec (offset = smallest symbol seen). */
export function tablesFromSymbols(frames: Int32Array[], channels: number, precisionBits = 14): EntropySpec {
  const per = frames[0].length / channels;
  const tables = Array.from({ length: channels }, (_, c) => {
    const counts = new Map<number, number>();
    for (const f of frames) for (let i = c * per; i < (c + 1) * per; i++) counts.set(f[i], (counts.get(f[i]) ?? 0) + 1);
    const lo = Math.min(...counts.keys());
    const hi = Math.max(...counts.keys());
    return { offset: lo, counts: Array.from({ length: hi - lo + 1 }, (_, k) => counts.get(lo + k) ?? 0) };
  });
  return { coder: 'rans32/1', precisionBits, channels: tables };
}

/** Laplacian latents, one scale per channel and a per-frame gain, quantized like a rate level. */
function syntheticFrames(shape: number[], scales: number[], quant: QuantSpec, count: number, seed: number): Int32Array[] {
  const rnd = prng(seed);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => {
    const gain = 0.7 + 0.6 * rnd();
    const y = new Float32Array(shape[0] * per);
    for (let i = 0; i < y.length; i++) {
      const u = rnd() - 0.5;
      y[i] = -gain * scales[Math.floor(i / per)] * Math.sign(u) * Math.log(1 - 2 * Math.abs(u) + 1e-12);
    }
    return quantize(y, quant);
  });
}

function syntheticLevels(testFrames: number): Level[] {
  const quant = { step: 1, min: -32, max: 31 };
  const spec: Array<[string, number[], number[]]> = [
    ['c8-4x4', [8, 4, 4], [0.25, 0.4, 0.6, 0.8, 1, 1.3, 1.6, 2]],
    ['c16-4x4', [16, 4, 4], Array.from({ length: 16 }, (_, c) => 0.2 + 0.15 * c)],
    ['c8-7x7', [8, 7, 7], [0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.8, 2.4]],
  ];
  return spec.map(([name, shape, scales], i) => {
    const train = syntheticFrames(shape, scales, quant, 20000, 1000 + i);
    return { name, shape, quant, tables: buildCoderTables(tablesFromSymbols(train, shape[0])), frames: syntheticFrames(shape, scales, quant, testFrames, 2000 + i) };
  });
}

/** The bundle's head and each rate's encoder on its sample images: real split tensors. */
async function bundleLevels(dir: string, limit: number): Promise<{ name: string; levels: Level[] }> {
  const model = await import('../lib/model');
  const rt = await model.ModelRuntime.open(dir);
  try {
    const m = rt.manifest;
    const set = await model.readSamples(rt.bundle);
    const n = Math.min(limit, set.count);
    const per = model.pixelsPerFrame(m);
    const { features } = await rt.head(model.preprocessPixels(m, set.images.subarray(0, n * per), n), n);
    const levels: Level[] = [];
    for (const r of m.rates) {
      const symbols = quantize(await rt.encode(r.level, features, n), r.quant);
      const size = r.symbolShape.reduce((a, b) => a * b, 1);
      const frames = Array.from({ length: n }, (_, i) => symbols.slice(i * size, (i + 1) * size));
      levels.push({ name: `${r.level}:${r.name}`, shape: r.symbolShape, quant: r.quant, tables: buildCoderTables(r.entropy), frames });
    }
    return { name: `${m.name}@${m.version} (${rt.modelId})`, levels };
  } finally {
    await rt.close();
  }
}

/** Symbols per second of fn (which handles `symbols` symbols), after a warm-up: median and best of 7. */
function throughput(fn: () => void, symbols: number): { median: number; best: number } {
  for (const end = performance.now() + 300; performance.now() < end; ) fn();
  const rates: number[] = [];
  for (let pass = 0; pass < 7; pass++) {
    let calls = 0;
    const t0 = performance.now();
    do {
      fn();
      calls++;
    } while (performance.now() - t0 < 150);
    rates.push((calls * symbols) / ((performance.now() - t0) / 1000) / 1e6);
  }
  rates.sort((a, b) => a - b);
  return { median: round(rates[3]), best: round(rates[6]) };
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function symbolBytes(frame: Int32Array, quant: QuantSpec): Buffer {
  const int8 = quant.min >= -128 && quant.max <= 127;
  return Buffer.from(int8 ? Int8Array.from(frame).buffer : Int16Array.from(frame).buffer);
}

function baselines(level: Level) {
  const raw = level.frames.map((f) => symbolBytes(f, level.quant));
  const all = Buffer.concat(raw);
  const brotli = (b: Buffer) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }).length;
  const gzip = (b: Buffer) => zlib.gzipSync(b, { level: 9 }).length;
  return {
    symbolBytesPerFrame: raw[0].length,
    gzipBytesPerFrame: round(mean(raw.map(gzip))),
    brotliBytesPerFrame: round(mean(raw.map(brotli))),
    deflateRawBytesPerFrame: round(mean(raw.map((b) => zlib.deflateRawSync(b, { level: 9 }).length))),
    gzipAllFramesBytesPerFrame: round(gzip(all) / raw.length),
    brotliAllFramesBytesPerFrame: round(brotli(all) / raw.length),
  };
}

/** All frames as one tensor [C, frames * H * W], channel-major like one frame. */
function asOneTensor(level: Level): { symbols: Int32Array; shape: number[] } {
  const C = level.shape[0];
  const per = level.frames[0].length / C;
  const symbols = new Int32Array(level.frames.length * level.frames[0].length);
  level.frames.forEach((f, n) => {
    for (let c = 0; c < C; c++) symbols.set(f.subarray(c * per, (c + 1) * per), c * per * level.frames.length + n * per);
  });
  return { symbols, shape: [C, per * level.frames.length] };
}

function measure(level: Level) {
  const { shape, tables, quant, frames } = level;
  const clamp = { min: quant.min, max: quant.max };
  const coded = frames.map((f) => encodeSymbols(f, shape, tables, clamp));
  const ideal = frames.map((f) => crossEntropyBits(f, shape, tables, clamp) / 8);
  const codedBytes = mean(coded.map((c) => c.length));
  const idealBytes = mean(ideal);
  const per = frames[0].length / shape[0];
  const escaped = (f: Int32Array) => f.filter((s, i) => {
    const t = tables.channels[Math.floor(i / per)];
    return s < t.offset || s >= t.offset + t.size;
  }).length;
  const escapes = frames.reduce((n, f) => n + escaped(f), 0);
  const bulk = asOneTensor(level);
  const bulkCoded = encodeSymbols(bulk.symbols, bulk.shape, tables, clamp);
  const limits = { maxSymbols: bulk.symbols.length };
  const total = frames.length * frames[0].length;
  const speed = {
    perFrameEncode: throughput(() => frames.forEach((f) => encodeSymbols(f, shape, tables, clamp)), total),
    perFrameDecode: throughput(() => coded.forEach((c) => decodeSymbols(c, shape, tables, clamp)), total),
    oneTensorEncode: throughput(() => encodeSymbols(bulk.symbols, bulk.shape, tables, clamp), total),
    oneTensorDecode: throughput(() => decodeSymbols(bulkCoded, bulk.shape, tables, clamp, limits), total),
  };
  return {
    name: level.name,
    shape,
    precisionBits: tables.precisionBits,
    clamp,
    frames: frames.length,
    symbolsPerFrame: frames[0].length,
    idealBytesPerFrame: round(idealBytes, 3),
    codedBytesPerFrame: round(codedBytes, 3),
    codedOverIdeal: round(codedBytes / idealBytes, 4),
    overheadBytesPerFrame: round(codedBytes - idealBytes, 3),
    codedOverIdealOneTensor: round(bulkCoded.length / (crossEntropyBits(bulk.symbols, bulk.shape, tables, clamp) / 8), 5),
    escapesPerFrame: round(escapes / frames.length, 4),
    speedMBps: speed,
    ...baselines(level),
  };
}

export async function run(args: string[]) {
  const frameCount = Number(flag(args, 'frames') ?? 4000);
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new Error('--frames needs a positive integer');
  const dir = args.includes('--synthetic') ? undefined : flag(args, 'bundle') ?? SHIPPED_BUNDLE;
  const source = dir ? await bundleLevels(dir, frameCount) : { name: 'synthetic Laplacian latents', levels: syntheticLevels(frameCount) };
  const levels = source.levels.map(measure);
  const worst = (pick: (l: (typeof levels)[number]) => number, agg: (...x: number[]) => number) => agg(...levels.map(pick));
  const summary = {
    worstCodedOverIdeal: worst((l) => l.codedOverIdeal, Math.max),
    maxOverheadBytesPerFrame: worst((l) => l.overheadBytesPerFrame, Math.max),
    minEncodeMBps: worst((l) => Math.min(l.speedMBps.perFrameEncode.median, l.speedMBps.oneTensorEncode.median), Math.min),
    minDecodeMBps: worst((l) => Math.min(l.speedMBps.perFrameDecode.median, l.speedMBps.oneTensorDecode.median), Math.min),
  };
  return {
    bench: 'codec',
    source: source.name,
    goals: GOALS,
    summary: {
      ...summary,
      meetsGoals: summary.worstCodedOverIdeal <= GOALS.codedOverIdeal && summary.minEncodeMBps >= GOALS.encodeMBps && summary.minDecodeMBps >= GOALS.decodeMBps,
    },
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadAverage1m: round(os.loadavg()[0]), node: process.version },
    note: 'MB/s = million symbols per second (one int8 symbol = 1 byte); median (and best) of 7 timed passes after warm-up, wall clock.',
    levels,
  };
}
