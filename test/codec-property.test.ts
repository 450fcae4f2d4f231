import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError, buildCoderTables, crossEntropyBits, decodeSymbols, dequantize, encodeSymbols, normalizeCounts, quantize } from '../lib/codec';
import { refEncode, refNormalize } from './vectors/reference-rans';

interface Case {
  precisionBits: number;
  channels: Array<{ offset: number; counts: number[] }>;
  clamp: { min: number; max: number };
  shape: number[];
  symbols: number[];
}

/** Tables (zeros allowed, at least one count > 0), a clamp around them, and symbols mixing in-table values and escapes. */
function caseArb(opts: { maxPrecision?: number; escapeRate?: number } = {}): fc.Arbitrary<Case> {
  const counts = fc
    .array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 100000 })), { minLength: 1, maxLength: 40 })
    .filter((c) => c.some((n) => n > 0));
  return fc
    .record({
      precisionBits: fc.integer({ min: 8, max: opts.maxPrecision ?? 16 }),
      channels: fc.array(fc.record({ offset: fc.integer({ min: -60, max: 20 }), counts }), { minLength: 1, maxLength: 4 }),
      spatial: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 3 }),
      widen: fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 40 })),
      seed: fc.integer(),
      escapeRate: fc.constantFrom(0, 0.05, 0.5, 1),
    })
    .filter(({ precisionBits, channels }) => channels.every((c) => c.counts.length < 2 ** precisionBits))
    .map(({ precisionBits, channels, spatial, widen, seed, escapeRate }) => {
      const lo = Math.min(...channels.map((c) => c.offset));
      const hi = Math.max(...channels.map((c) => c.offset + c.counts.length - 1));
      const clamp = { min: lo - widen[0], max: hi + widen[1] };
      const shape = [channels.length, ...spatial];
      const per = spatial.reduce((a, b) => a * b, 1);
      let s = seed >>> 0 || 1;
      const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const rate = opts.escapeRate ?? escapeRate;
      const symbols = Array.from({ length: per * channels.length }, (_, i) => {
        const ch = channels[Math.floor(i / per)];
        return next() < rate ? clamp.min + Math.floor(next() * (clamp.max - clamp.min + 1)) : ch.offset + Math.floor(next() * ch.counts.length);
      });
      return { precisionBits, channels, clamp, shape, symbols };
    });
}

function roundTrip(c: Case): Uint8Array {
  const tables = buildCoderTables(c);
  const bytes = encodeSymbols(Int32Array.from(c.symbols), c.shape, tables, c.clamp);
  assert.deepEqual(Array.from(decodeSymbols(bytes, c.shape, tables, c.clamp)), c.symbols);
  return bytes;
}

test('round trip for random tables, clamps, shapes and symbols', () => {
  fc.assert(fc.property(caseArb(), (c) => void roundTrip(c)), { numRuns: 400 });
});

test('lib/codec writes exactly the bytes of the plain reference coder', () => {
  fc.assert(
    fc.property(caseArb({ maxPrecision: 12 }), (c) => {
      const ours = Buffer.from(roundTrip(c)).toString('hex');
      const ref = Buffer.from(refEncode(c.symbols, c.shape, c.channels, c.precisionBits, c.clamp)).toString('hex');
      assert.equal(ours, ref);
    }),
    { numRuns: 200 },
  );
});

test('degenerate tables: one symbol, everything escaped, clamp of 1 and of 65536 values', () => {
  const one = { precisionBits: 8, channels: [{ offset: 5, counts: [3] }] };
  roundTrip({ ...one, clamp: { min: 5, max: 5 }, shape: [1, 100], symbols: Array(100).fill(5) });
  roundTrip({ ...one, clamp: { min: 0, max: 9 }, shape: [1, 10], symbols: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  roundTrip({ ...one, clamp: { min: -32768, max: 32767 }, shape: [1, 4], symbols: [-32768, 32767, 0, 5] });
  roundTrip({ ...one, clamp: { min: 6, max: 6 }, shape: [1, 7], symbols: Array(7).fill(6) });
  fc.assert(fc.property(caseArb({ escapeRate: 1 }), (c) => void roundTrip(c)), { numRuns: 200 });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 8, max: 16 }), (n, p) => {
      const c = { precisionBits: p, channels: [{ offset: 0, counts: [1] }], clamp: { min: 0, max: 0 }, shape: [1, n], symbols: Array(n).fill(0) };
      assert.equal(roundTrip(c).length, 0); // the only symbol, from state 0: nothing to send
    }),
    { numRuns: 50 },
  );
});

test('accepted streams re-encode to themselves; everything else is a CodecError', () => {
  fc.assert(
    fc.property(caseArb({ maxPrecision: 12 }), fc.uint8Array({ maxLength: 40 }), (c, garbage) => {
      const tables = buildCoderTables(c);
      try {
        const sym = decodeSymbols(garbage, c.shape, tables, c.clamp);
        assert.deepEqual(Array.from(encodeSymbols(sym, c.shape, tables, c.clamp)), Array.from(garbage));
      } catch (e) {
        assert.ok(e instanceof CodecError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test('normalization: sums to 2^p, every symbol >= 1, higher count never gets less, matches the reference', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 16 }),
      fc.array(fc.oneof(fc.nat({ max: 50 }), fc.nat({ max: 2 ** 30 })), { minLength: 1, maxLength: 255 }).filter((c) => c.some((n) => n > 0)),
      (p, counts) => {
        const f = Array.from(normalizeCounts(counts, p));
        assert.equal(f.reduce((a, b) => a + b, 0), 2 ** p);
        assert.ok(f.every((x) => x >= 1));
        for (let i = 0; i < counts.length; i++) for (let j = 0; j < counts.length; j++) if (counts[i] > counts[j]) assert.ok(f[i] >= f[j]);
        assert.deepEqual(f, refNormalize(counts, p));
      },
    ),
    { numRuns: 300 },
  );
});

test('coded size is within a byte of the cross-entropy (plus 0.2% for large streams)', () => {
  fc.assert(
    fc.property(caseArb({ escapeRate: 0.02 }), (c) => {
      const tables = buildCoderTables(c);
      const bytes = encodeSymbols(Int32Array.from(c.symbols), c.shape, tables, c.clamp);
      const ideal = crossEntropyBits(Int32Array.from(c.symbols), c.shape, tables, c.clamp);
      assert.ok(bytes.length * 8 <= ideal + 8 + 0.002 * c.symbols.length, `${bytes.length} B vs ${ideal.toFixed(1)} bits`);
    }),
    { numRuns: 300 },
  );
});

test('quantizer: inside the clamp, within step/2 of the input, dequantize is a right inverse', () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ noNaN: false }), { maxLength: 50 }),
      fc.constantFrom(0.05, 0.25, 1, 1.7, 8),
      fc.integer({ min: -300, max: 0 }),
      fc.integer({ min: 0, max: 300 }),
      (ys, step, min, max) => {
        const y = Float32Array.from(ys);
        const q = quantize(y, { step, min, max });
        y.forEach((v, i) => {
          assert.ok(q[i] >= min && q[i] <= max);
          if (v / step >= min && v / step <= max) assert.ok(Math.abs(q[i] * step - v) <= step / 2 + 1e-9 * Math.abs(v));
        });
        assert.deepEqual(quantize(dequantize(q, step), { step, min, max }), q);
      },
    ),
    { numRuns: 500 },
  );
});
