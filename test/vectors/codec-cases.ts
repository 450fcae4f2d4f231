/**
 * Codec vectors: normalization, quantization, golden bitstreams and refused streams.
 * Expected bytes and verdicts come from the plain reference coder (reference-rans.ts),
 * never from lib/codec; generate.ts checks that lib/codec agrees before writing.
 */
import { RefChannel, refDecode, refEncode, refNormalize } from './reference-rans';

export interface TableSet {
  precisionBits: number;
  channels: RefChannel[];
}
export interface StreamCase {
  name: string;
  tables: string;
  clamp: { min: number; max: number };
  shape: number[];
  symbols: number[];
  hex: string;
}
export interface StreamReject {
  name: string;
  tables: string;
  clamp: { min: number; max: number };
  shape: number[];
  hex: string;
  limits?: { maxSymbols: number };
  code: string;
}
export interface NormalizationCase {
  name: string;
  precisionBits: number;
  counts: number[];
  freqs: number[];
}
export interface QuantizeCase {
  name: string;
  step: number;
  min: number;
  max: number;
  /** float32 values; "NaN", "Infinity", "-Infinity", "-0" as strings */
  inputs: Array<number | string>;
  symbols: number[];
}
export interface TableReject {
  name: string;
  spec: unknown;
  code: string;
}

/** Deterministic PRNG for picking symbols (the symbols are stored, so it may change freely). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function laplaceCounts(scale: number, half: number, peak: number): RefChannel {
  const counts = [];
  for (let v = -half; v <= half; v++) counts.push(Math.round(peak * Math.exp(-Math.abs(v) / scale)));
  return { offset: -half, counts };
}

export const TABLE_SETS: Record<string, TableSet> = {
  demo: {
    precisionBits: 14,
    channels: [
      { offset: -3, counts: [1, 20, 300, 9000, 300, 20, 1] },
      { offset: -2, counts: [10, 200, 3000, 200, 10, 0, 1] },
    ],
  },
  latent8: { precisionBits: 14, channels: [0.3, 0.6, 1, 1.5, 2, 3, 4, 6].map((s) => laplaceCounts(s, 12, 50000)) },
  p8: { precisionBits: 8, channels: [{ offset: 0, counts: [5, 3, 1] }, { offset: -1, counts: [1, 1] }] },
  p16: { precisionBits: 16, channels: [laplaceCounts(20, 127, 1e6)] },
  single: { precisionBits: 10, channels: [{ offset: 3, counts: [7] }] },
  full8: { precisionBits: 8, channels: [{ offset: -128, counts: Array.from({ length: 255 }, (_, i) => (i * 7919) % 13) }] },
};

export function normalizationCases(): NormalizationCase[] {
  const cases: NormalizationCase[] = [];
  for (const [name, set] of Object.entries(TABLE_SETS)) {
    set.channels.forEach((ch, c) => {
      if (name === 'latent8' && c % 3 !== 0) return;
      cases.push({ name: `${name}-channel-${c}`, precisionBits: set.precisionBits, counts: ch.counts, freqs: refNormalize(ch.counts, set.precisionBits) });
    });
  }
  const extra: Array<[string, number, number[]]> = [
    ['one-count', 8, [1]],
    ['zeros-around-one', 12, [0, 0, 5, 0, 0]],
    ['all-equal-ties', 8, [3, 3, 3, 3, 3]],
    ['remainder-ties', 10, [1, 2, 1, 2, 1]],
    ['huge-counts', 16, [2 ** 35, 2 ** 35 - 1, 12345, 1]],
    ['exactly-fills-precision', 8, Array(255).fill(1)],
    ['uniform-64', 14, Array(64).fill(1000)],
  ];
  for (const [name, p, counts] of extra) cases.push({ name, precisionBits: p, counts, freqs: refNormalize(counts, p) });
  return cases;
}

export function quantizeCases(): QuantizeCase[] {
  const f32 = (v: number) => Math.fround(v);
  const rng = xorshift(7);
  const random = Array.from({ length: 24 }, () => f32((rng() - 0.5) * 80));
  const q = (y: number, step: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(y / step + 0.5)));
  return [
    {
      name: 'half-way-rounds-up',
      step: 1, min: -32, max: 31,
      inputs: [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, f32(0.49999997), f32(-0.50000006), 0, '-0'],
      symbols: [1, 0, 2, -1, 3, -2, 0, -1, 0, 0],
    },
    {
      name: 'clamp-and-specials',
      step: 1, min: -32, max: 31,
      inputs: [31.4, 31.5, -32.5, -33, 1e30, -1e30, 'Infinity', '-Infinity', 'NaN'],
      symbols: [31, 31, -32, -32, 31, -32, 31, -32, 0],
    },
    { name: 'nan-when-0-is-outside', step: 1, min: 1, max: 5, inputs: ['NaN', 0, 9], symbols: [1, 1, 5] },
    { name: 'step-0.25', step: 0.25, min: -128, max: 127, inputs: [0.125, -0.125, 0.37, 1, -31.9, 40], symbols: [1, 0, 1, 4, -128, 127] },
    // float32(0.05) is a hair above 0.05, so it lands above the half-way point: 1, and -1
    { name: 'step-0.1-inexact', step: 0.1, min: -100, max: 100, inputs: [f32(0.05), f32(0.15), f32(0.25), f32(-0.05), f32(3.3)], symbols: [1, 2, 3, -1, 33] },
    { name: 'step-3', step: 3, min: -10, max: 10, inputs: [1.5, 1.4999, -1.5, 4.5, 100], symbols: [1, 0, 0, 2, 10] },
    { name: 'random-step-1.7', step: 1.7, min: -16, max: 15, inputs: random, symbols: random.map((y) => q(y, 1.7, -16, 15)) },
  ];
}

function stream(name: string, tables: string, clamp: { min: number; max: number }, shape: number[], symbols: number[]): StreamCase {
  const set = TABLE_SETS[tables];
  const hex = Buffer.from(refEncode(symbols, shape, set.channels, set.precisionBits, clamp)).toString('hex');
  return { name, tables, clamp, shape, symbols, hex };
}

/** Symbols drawn from a channel's own counts (and, with `escapes`, some values outside them). */
function draw(set: TableSet, shape: number[], seed: number, clamp: { min: number; max: number }, escapes = 0): number[] {
  const rng = xorshift(seed);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < per * shape[0]; i++) {
    const ch = set.channels[Math.floor(i / per)];
    if (rng() < escapes) {
      out.push(clamp.min + Math.floor(rng() * (clamp.max - clamp.min + 1)));
      continue;
    }
    const total = ch.counts.reduce((a, b) => a + b, 0);
    let r = rng() * total;
    let k = 0;
    while (k < ch.counts.length - 1 && (r -= ch.counts[k]) >= 0) k++;
    out.push(ch.offset + k);
  }
  return out;
}

const C32 = { min: -32, max: 31 };

export function streamCases(): StreamCase[] {
  const T = TABLE_SETS;
  return [
    stream('demo-typical', 'demo', C32, [2, 4, 4], draw(T.demo, [2, 4, 4], 1, C32)),
    stream('demo-with-escapes', 'demo', C32, [2, 4, 4], draw(T.demo, [2, 4, 4], 2, C32, 0.2)),
    stream('demo-all-escapes', 'demo', C32, [2, 4, 4], Array.from({ length: 32 }, (_, i) => (i % 2 ? 31 - i : -32 + i))),
    stream('demo-most-probable-only', 'demo', C32, [2, 4, 4], Array(32).fill(0)),
    stream('demo-one-symbol', 'demo', C32, [2], [0, 1]),
    stream('demo-4d', 'demo', C32, [2, 2, 2, 2], draw(T.demo, [2, 2, 2, 2], 3, C32)),
    stream('latent8-frame-a', 'latent8', C32, [8, 4, 4], draw(T.latent8, [8, 4, 4], 4, C32)),
    stream('latent8-frame-b', 'latent8', C32, [8, 4, 4], draw(T.latent8, [8, 4, 4], 5, C32, 0.01)),
    stream('latent8-7x7', 'latent8', C32, [8, 7, 7], draw(T.latent8, [8, 7, 7], 6, C32)),
    stream('latent8-large', 'latent8', C32, [8, 32, 32], draw(T.latent8, [8, 32, 32], 7, C32, 0.001)),
    stream('p8-mixed', 'p8', { min: -4, max: 4 }, [2, 40], draw(T.p8, [2, 40], 8, { min: -4, max: 4 }, 0.1)),
    stream('p16-wide', 'p16', { min: -200, max: 200 }, [1, 300], draw(T.p16, [1, 300], 9, { min: -200, max: 200 }, 0.05)),
    stream('single-in-table', 'single', { min: 0, max: 7 }, [1, 50], Array(50).fill(3)),
    stream('single-mixed', 'single', { min: 0, max: 7 }, [1, 50], draw(T.single, [1, 50], 10, { min: 0, max: 7 }, 0.3)),
    stream('single-all-escapes', 'single', { min: 0, max: 7 }, [1, 8], [0, 1, 2, 4, 5, 6, 7, 0]),
    stream('clamp-range-1', 'single', { min: 5, max: 5 }, [1, 6], Array(6).fill(5)),
    stream('clamp-range-65536', 'demo', { min: -32768, max: 32767 }, [2, 3], [-32768, 32767, 0, -1, 12345, -3]),
    stream('clamp-range-63', 'demo', { min: -32, max: 30 }, [2, 4], [30, -32, 7, 0, -8, 3, 30, 0]),
    stream('full8-every-symbol', 'full8', { min: -128, max: 127 }, [1, 256], Array.from({ length: 256 }, (_, i) => i - 128)),
  ];
}

/**
 * The reference's verdict on a damaged stream. The code has almost no redundancy (the
 * frame CRC guards integrity), so many damaged streams still decode: those become accept
 * cases, and must then be exactly what the encoder makes of the symbols they decode to.
 */
function verdict(name: string, tables: string, clamp: { min: number; max: number }, shape: number[], bytes: number[]): StreamReject | StreamCase {
  const set = TABLE_SETS[tables];
  const result = refDecode(bytes, shape, set.channels, set.precisionBits, clamp);
  const hex = Buffer.from(bytes).toString('hex');
  if (typeof result === 'string') return { name, tables, clamp, shape, hex, code: result };
  const again = stream(`${name}/decodes`, tables, clamp, shape, result);
  if (again.hex !== hex) throw new Error(`reference is not canonical on ${name}`);
  return again;
}

/** Damaged streams: returns the refused ones, and pushes those that decode onto `streams`. */
export function streamRejects(streams: StreamCase[]): StreamReject[] {
  const get = (name: string) => streams.find((s) => s.name === name)!;
  const bytesOf = (s: StreamCase) => Array.from(Buffer.from(s.hex, 'hex'));
  const out: StreamReject[] = [];
  const decoded: StreamCase[] = [];
  const push = (v: StreamReject | StreamCase) => ('code' in v ? out.push(v) : decoded.push(v));
  const mutate = (base: string, label: string, change: (b: number[]) => number[], shape?: number[], clamp?: { min: number; max: number }) => {
    const s = get(base);
    push(verdict(`${base}/${label}`, s.tables, clamp ?? s.clamp, shape ?? s.shape, change(bytesOf(s))));
  };
  for (const base of ['demo-typical', 'latent8-frame-a', 'p16-wide', 'demo-with-escapes']) {
    mutate(base, 'leading-zero', (b) => [0, ...b]);
    mutate(base, 'trailing-byte', (b) => [...b, 0x5a]);
    mutate(base, 'last-byte-dropped', (b) => b.slice(0, -1));
    mutate(base, 'first-byte-dropped', (b) => b.slice(1));
    mutate(base, 'first-byte-flipped', (b) => [b[0] ^ 0x10, ...b.slice(1)]);
    mutate(base, 'middle-byte-flipped', (b) => b.map((v, i) => (i === b.length >> 1 ? v ^ 0x01 : v)));
  }
  const shapeOf = (base: string) => get(base).shape;
  for (const base of ['demo-typical', 'latent8-frame-a', 'latent8-7x7']) {
    const [c, ...rest] = shapeOf(base);
    mutate(base, 'shape-one-fewer-row', (b) => b, [c, rest[0] - 1, ...rest.slice(1)]);
    mutate(base, 'shape-one-more-row', (b) => b, [c, rest[0] + 1, ...rest.slice(1)]);
    mutate(base, 'shape-flattened-to-half', (b) => b, [c, rest.reduce((a, v) => a * v, 1) >> 1]);
  }
  mutate('demo-most-probable-only', 'one-byte-instead-of-empty', () => [1]);
  mutate('single-mixed', 'decoded-with-narrower-clamp', (b) => b, undefined, { min: 4, max: 7 });
  const demo = TABLE_SETS.demo;
  const forced = refEncode([0, 1, 2, 0], [2, 2], demo.channels, demo.precisionBits, C32, new Set([1]));
  push(verdict('escape-of-in-table-symbol', 'demo', C32, [2, 2], forced));
  streams.push(...decoded);
  // Argument checks, made before the stream is looked at (verdicts stated here).
  const typical = bytesOf(get('demo-typical'));
  const arg = (name: string, shape: number[], clamp: { min: number; max: number }, code: string, limits?: { maxSymbols: number }) =>
    out.push({ name: `arguments/${name}`, tables: 'demo', clamp, shape, hex: Buffer.from(typical).toString('hex'), ...(limits ? { limits } : {}), code });
  arg('more-channels-than-tables', [3, 4, 4], C32, 'BAD_SHAPE');
  arg('fewer-channels-than-tables', [1, 32], C32, 'BAD_SHAPE');
  arg('zero-dim', [2, 0, 4], C32, 'BAD_SHAPE');
  arg('five-dims', [2, 1, 1, 4, 4], C32, 'BAD_SHAPE');
  arg('shape-over-custom-cap', [2, 4, 4], C32, 'OVER_CAP', { maxSymbols: 31 });
  arg('shape-over-default-cap', [2, 1 << 19, 2], C32, 'OVER_CAP');
  arg('clamp-range-65537', [2, 4, 4], { min: 0, max: 65536 }, 'BAD_CLAMP');
  arg('clamp-min-above-max', [2, 4, 4], { min: 5, max: 4 }, 'BAD_CLAMP');
  arg('clamp-fraction', [2, 4, 4], { min: 0.5, max: 4 }, 'BAD_CLAMP');
  return out;
}

export function tableRejects(): TableReject[] {
  const ch = { offset: 0, counts: [1, 2, 3] };
  return [
    { name: 'precision-7', spec: { precisionBits: 7, channels: [ch] }, code: 'BAD_TABLE' },
    { name: 'precision-17', spec: { precisionBits: 17, channels: [ch] }, code: 'BAD_TABLE' },
    { name: 'precision-fraction', spec: { precisionBits: 12.5, channels: [ch] }, code: 'BAD_TABLE' },
    { name: 'no-channels', spec: { precisionBits: 12, channels: [] }, code: 'BAD_TABLE' },
    { name: 'empty-counts', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [] }] }, code: 'BAD_TABLE' },
    { name: 'all-zero-counts', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [0, 0] }] }, code: 'BAD_TABLE' },
    { name: 'negative-count', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [5, -1] }] }, code: 'BAD_TABLE' },
    { name: 'fractional-count', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [5, 1.5] }] }, code: 'BAD_TABLE' },
    { name: 'string-count', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [5, '1'] }] }, code: 'BAD_TABLE' },
    { name: 'total-over-2^36', spec: { precisionBits: 12, channels: [{ offset: 0, counts: [2 ** 36, 1] }] }, code: 'BAD_TABLE' },
    { name: 'too-many-counts-for-precision', spec: { precisionBits: 8, channels: [{ offset: 0, counts: Array(256).fill(1) }] }, code: 'BAD_TABLE' },
    { name: 'offset-fraction', spec: { precisionBits: 12, channels: [{ offset: 0.5, counts: [1] }] }, code: 'BAD_TABLE' },
    { name: 'offset-beyond-int32', spec: { precisionBits: 12, channels: [{ offset: 2 ** 31 - 1, counts: [1, 1] }] }, code: 'BAD_TABLE' },
    { name: 'unknown-coder', spec: { coder: 'huffman/1', precisionBits: 12, channels: [ch] }, code: 'BAD_TABLE' },
    { name: 'channel-not-object', spec: { precisionBits: 12, channels: [null] }, code: 'BAD_TABLE' },
  ];
}
