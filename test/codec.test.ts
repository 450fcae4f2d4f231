import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CodecError,
  CoderTables,
  buildCoderTables,
  crossEntropyBits,
  decodeSymbols,
  dequantize,
  encodeSymbols,
  normalizeCounts,
  quantize,
} from '../lib/codec';
import type { NormalizationCase, QuantizeCase, StreamCase, StreamReject, TableReject, TableSet } from './vectors/codec-cases';

const VECTORS = path.resolve(__dirname, '../../test/vectors');
const v: {
  tableSets: Record<string, TableSet>;
  normalization: NormalizationCase[];
  quantize: QuantizeCase[];
  streams: StreamCase[];
  streamRejects: StreamReject[];
  tableRejects: TableReject[];
} = JSON.parse(fs.readFileSync(path.join(VECTORS, 'codec.json'), 'utf8'));
const tables: Record<string, CoderTables> = Object.fromEntries(Object.entries(v.tableSets).map(([k, s]) => [k, buildCoderTables(s)]));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const C32 = { min: -32, max: 31 };

function throwsCodec(f: () => unknown, code: string, name = ''): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CodecError, `${name}: expected CodecError, got ${String(e)}`);
    assert.equal(e.code, code, `${name}: ${e.message}`);
    return true;
  });
}

test(`normalization vectors (${v.normalization.length})`, () => {
  for (const c of v.normalization) {
    const freqs = Array.from(normalizeCounts(c.counts, c.precisionBits));
    assert.deepEqual(freqs, c.freqs, c.name);
    assert.equal(freqs.reduce((a, b) => a + b, 0), 2 ** c.precisionBits, c.name);
    assert.ok(freqs.every((f) => f >= 1), c.name);
  }
});

test(`quantizer vectors (${v.quantize.length})`, () => {
  const value = (x: number | string) => (typeof x === 'number' ? x : x === '-0' ? -0 : Number(x));
  for (const c of v.quantize) {
    const y = Float32Array.from(c.inputs.map(value));
    assert.deepEqual(Array.from(quantize(y, c)), c.symbols, c.name);
    assert.deepEqual(Array.from(quantize(Float64Array.from(y), c)), c.symbols, `${c.name} (float64 input)`);
  }
});

test(`golden bitstreams (${v.streams.length}): exact bytes both ways`, () => {
  for (const s of v.streams) {
    const t = tables[s.tables];
    assert.equal(hex(encodeSymbols(Int32Array.from(s.symbols), s.shape, t, s.clamp)), s.hex, s.name);
    assert.deepEqual(Array.from(decodeSymbols(Buffer.from(s.hex, 'hex'), s.shape, t, s.clamp)), s.symbols, s.name);
  }
});

test(`refused streams (${v.streamRejects.length})`, () => {
  for (const r of v.streamRejects) {
    throwsCodec(() => decodeSymbols(Buffer.from(r.hex, 'hex'), r.shape, tables[r.tables], r.clamp, r.limits), r.code, r.name);
  }
});

test(`refused tables (${v.tableRejects.length})`, () => {
  for (const r of v.tableRejects) throwsCodec(() => buildCoderTables(r.spec as never), r.code, r.name);
  for (const bad of [null, 3, 'x', { precisionBits: 12 }]) throwsCodec(() => buildCoderTables(bad as never), 'BAD_TABLE');
});

test('the encoder refuses symbols it cannot code, and bad arguments', () => {
  const t = tables.demo;
  throwsCodec(() => encodeSymbols(Int32Array.from([0, 32]), [2, 1], t, C32), 'SYMBOL_OUT_OF_RANGE');
  throwsCodec(() => encodeSymbols(Int32Array.from([-33, 0]), [2, 1], t, C32), 'SYMBOL_OUT_OF_RANGE');
  // in the table but outside the clamp: still refused, the decoder would refuse it too
  throwsCodec(() => encodeSymbols(Int32Array.from([3, 0]), [2, 1], t, { min: -2, max: 2 }), 'SYMBOL_OUT_OF_RANGE');
  throwsCodec(() => encodeSymbols(Int32Array.from([0, 0, 0]), [2, 1], t, C32), 'BAD_SHAPE');
  throwsCodec(() => encodeSymbols(Int32Array.from([0, 0]), [1, 2], t, C32), 'BAD_SHAPE');
  throwsCodec(() => encodeSymbols([0, 0] as never, [2, 1], t, C32), 'BAD_INPUT');
  throwsCodec(() => encodeSymbols(Int32Array.from([0, 0]), [2, 1], t, { min: 0, max: 70000 }), 'BAD_CLAMP');
  throwsCodec(() => encodeSymbols(Int32Array.from([0, 0]), [2, 1], {} as never, C32), 'BAD_TABLE');
});

test('decodeSymbols refuses non-bytes and bad limits', () => {
  for (const bad of [null, 'ab', [1, 2], new ArrayBuffer(2)]) throwsCodec(() => decodeSymbols(bad as never, [2, 1], tables.demo, C32), 'BAD_INPUT');
  throwsCodec(() => decodeSymbols(new Uint8Array(0), [2, 1], tables.demo, C32, { maxSymbols: 0 }), 'BAD_LIMITS');
});

test('decodeSymbols reads a view with an offset', () => {
  const s = v.streams.find((x) => x.name === 'latent8-frame-a')!;
  const bytes = Buffer.from(s.hex, 'hex');
  const big = new Uint8Array(bytes.length + 7);
  big.set(bytes, 3);
  assert.deepEqual(Array.from(decodeSymbols(big.subarray(3, 3 + bytes.length), s.shape, tables.latent8, s.clamp)), s.symbols);
});

test('encoder output does not alias its scratch buffer', () => {
  const large = v.streams.find((x) => x.name === 'latent8-large')!;
  const small = v.streams.find((x) => x.name === 'latent8-frame-a')!;
  const a = encodeSymbols(Int32Array.from(small.symbols), small.shape, tables.latent8, C32);
  encodeSymbols(Int32Array.from(large.symbols), large.shape, tables.latent8, C32);
  const b = encodeSymbols(Int32Array.from(small.symbols), small.shape, tables.latent8, C32);
  assert.equal(hex(a), small.hex);
  assert.equal(hex(b), small.hex);
});

test('coded size stays within a byte of the cross-entropy on the golden streams', () => {
  // Only an upper bound: trailing most-probable symbols cost nothing (the state stays 0),
  // so a stream can come out below the ideal bits of its symbols.
  for (const s of v.streams) {
    const bits = crossEntropyBits(Int32Array.from(s.symbols), s.shape, tables[s.tables], s.clamp);
    const coded = s.hex.length / 2;
    assert.ok(coded * 8 <= bits + 8 + 0.002 * s.symbols.length, `${s.name}: ${coded} bytes for ${bits.toFixed(1)} bits`);
  }
});

test('quantize/dequantize: argument checks, clamp and inverse', () => {
  for (const q of [{ step: 0, min: 0, max: 1 }, { step: -1, min: 0, max: 1 }, { step: NaN, min: 0, max: 1 }, { step: 1, min: 2, max: 1 }, { step: 1, min: 0.5, max: 1 }, { step: 1, min: 0, max: 2 ** 31 }]) {
    throwsCodec(() => quantize(new Float32Array(1), q), 'BAD_QUANT');
  }
  throwsCodec(() => quantize([1, 2] as never, { step: 1, min: 0, max: 1 }), 'BAD_INPUT');
  throwsCodec(() => dequantize(new Int32Array(1), 0), 'BAD_QUANT');
  throwsCodec(() => dequantize([1] as never, 1), 'BAD_INPUT');
  const q = { step: 0.5, min: -8, max: 7 };
  const sym = quantize(Float32Array.from([-100, -1.2, 0.26, 3.74, 100]), q);
  assert.deepEqual(Array.from(sym), [-8, -2, 1, 7, 7]);
  assert.deepEqual(Array.from(dequantize(sym, q.step)), [-4, -1, 0.5, 3.5, 3.5]);
  assert.deepEqual(Array.from(quantize(dequantize(sym, q.step), q)), Array.from(sym));
});
