import { CodecError } from './errors';
import { BUCKET_BITS, Clamp, CoderTables, ESCAPE_PRECISION_BITS, RANS_L, checkClamp, checkShape } from './tables';

/*
 * rANS with a 31-bit state and byte-wise renormalization (as in ryg_rans; the exact
 * format is in docs/wire-format.md). Three choices make 30..130-byte frames cheap: the
 * encoder starts from state 0 instead of L (the start state costs no bits), the final
 * state is flushed in as few bytes as it needs, and while the state is small (quotient
 * q = floor(x / freq) below 2^(23 - precisionBits)) symbols use interleaved slots, which
 * code near-ideally there. Once the state is large, contiguous slots are just as good and
 * their decode tables are small enough to stay in cache. The decoder reads a byte only
 * while state < L and bytes remain, which is exactly when the encoder wrote one.
 * Everything is integer arithmetic below 2^31 (integer division in a double is exact there).
 */

export interface CodecLimits {
  /** Largest shape product decodeSymbols accepts (it allocates 4 bytes per symbol). */
  maxSymbols: number;
}
export const DEFAULT_CODEC_LIMITS: Readonly<CodecLimits> = Object.freeze({ maxSymbols: 1 << 20 });

const ESCAPE_SLOTS = 1 << ESCAPE_PRECISION_BITS;
const ESCAPE_LIMIT_UNIT = (RANS_L / ESCAPE_SLOTS) * 256;
const ESCAPE_MASK = ESCAPE_SLOTS - 1;
/** Encoder scratch is kept between calls up to this size (bytes). */
const SCRATCH_KEEP = 1 << 22;
let scratch = new Uint8Array(1 << 16);

/**
 * An escaped value v (0 <= v < R, R = clamp range) owns escape slots v, v + R, v + 2R, ...
 * of the 2^16: that is ceil((2^16 - v) / R) of them, near-uniform and interleaved.
 */
export function escapeFreq(v: number, range: number): number {
  return Math.floor((ESCAPE_SLOTS - v + range - 1) / range);
}

/**
 * Codes sym (channel-major: channel c is sym[c*S .. (c+1)*S), S = product of shape[1..]),
 * channel c with tables.channels[c]. Symbols must lie in the clamp range; those outside a
 * channel's table go through the escape. Returns a new Uint8Array.
 */
export function encodeSymbols(sym: Int32Array, shape: readonly number[], tables: CoderTables, clamp: Clamp): Uint8Array {
  if (!(sym instanceof Int32Array)) throw new CodecError('BAD_INPUT', 'symbols must be an Int32Array');
  checkClamp(clamp);
  const perChannel = checkShape(shape, tables, Number.MAX_SAFE_INTEGER);
  if (perChannel * shape[0] !== sym.length) throw new CodecError('BAD_SHAPE', `shape has ${perChannel * shape[0]} symbols, got ${sym.length}`);
  const cap = 4 * sym.length + 4; // worst case: an escape (2 + 2 bytes) per symbol, then the state
  const out = cap <= scratch.length ? scratch : cap <= SCRATCH_KEEP ? (scratch = new Uint8Array(cap)) : new Uint8Array(cap);
  const p = tables.precisionBits;
  const spreadBelow = RANS_L >> p;
  const { min, max } = clamp;
  const range = max - min + 1;
  let pos = cap;
  let x = 0;
  for (let c = shape[0] - 1; c >= 0; c--) {
    const t = tables.channels[c];
    const { offset, freq, cum, encLimit, size } = t;
    const slotOf = t.spread.slotOf;
    const lo = Math.max(0, min - offset);
    const hi = Math.min(size - 1, max - offset);
    for (let i = (c + 1) * perChannel - 1, base = c * perChannel; i >= base; i--) {
      const s = sym[i];
      let k = s - offset;
      if (k < lo || k > hi) {
        if (s < min || s > max) throw new CodecError('SYMBOL_OUT_OF_RANGE', `symbol ${s} at ${i} is outside ${min}..${max}`);
        // Escape: the value goes in first, since the decoder reads it after the escape symbol.
        const v = s - min;
        const f = escapeFreq(v, range);
        const limit = ESCAPE_LIMIT_UNIT * f;
        while (x >= limit) {
          out[--pos] = x & 0xff;
          x >>= 8;
        }
        const q = (x / f) | 0;
        x = q * ESCAPE_SLOTS + (x - q * f) * range + v; // slot v + (x mod f) * R
        k = size;
      }
      const f = freq[k];
      const limit = encLimit[k];
      while (x >= limit) {
        out[--pos] = x & 0xff;
        x >>= 8;
      }
      const q = (x / f) | 0;
      const r = x - Math.imul(q, f);
      x = (q << p) + (q >= spreadBelow ? cum[k] + r : slotOf[cum[k] + r]);
    }
  }
  while (x > 0) {
    out[--pos] = x & 0xff; // the final state, low byte last, no leading zero byte
    x >>= 8;
  }
  return out.slice(pos, cap);
}

function resolveMaxSymbols(limits: Partial<CodecLimits> | undefined): number {
  const maxSymbols = limits?.maxSymbols ?? DEFAULT_CODEC_LIMITS.maxSymbols;
  if (!Number.isInteger(maxSymbols) || maxSymbols < 1) throw new CodecError('BAD_LIMITS', 'maxSymbols must be a positive integer');
  return maxSymbols;
}

/**
 * Inverse of encodeSymbols. The shape (and so the allocation) is checked against
 * limits.maxSymbols first; every malformed stream ends in a CodecError after at most one
 * pass over the symbols. A stream it accepts is exactly what encodeSymbols makes of the result.
 */
export function decodeSymbols(
  bytes: Uint8Array,
  shape: readonly number[],
  tables: CoderTables,
  clamp: Clamp,
  limits?: Partial<CodecLimits>,
): Int32Array {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('BAD_INPUT', 'stream must be a Uint8Array');
  const maxSymbols = resolveMaxSymbols(limits);
  checkClamp(clamp);
  const perChannel = checkShape(shape, tables, maxSymbols);
  const end = bytes.length;
  if (end > 0 && bytes[0] === 0) throw new CodecError('BAD_STREAM', 'leading zero byte in the state');
  let pos = 0;
  let x = 0;
  while (x < RANS_L && pos < end) x = (x << 8) | bytes[pos++];

  const out = new Int32Array(perChannel * shape[0]);
  const p = tables.precisionBits;
  const mask = (1 << p) - 1;
  const spreadBelow = RANS_L >> p;
  const bucketShift = p - BUCKET_BITS;
  const { min, max } = clamp;
  const range = max - min + 1;
  for (let c = 0; c < shape[0]; c++) {
    const t = tables.channels[c];
    const { offset, freq, cum, bucketIndex, size } = t;
    const { slotIndex, slotRank } = t.spread;
    const lo = Math.max(0, min - offset);
    const hi = Math.min(size - 1, max - offset);
    for (let i = c * perChannel, stop = i + perChannel; i < stop; i++) {
      const q = x >> p;
      const slot = x & mask;
      let k: number;
      if (q >= spreadBelow) {
        k = bucketIndex[slot >> bucketShift];
        while (cum[k + 1] <= slot) k++;
        x = Math.imul(freq[k], q) + slot - cum[k]; // < 2^31, so imul is exact
      } else {
        k = slotIndex[slot];
        x = Math.imul(freq[k], q) + slotRank[slot];
      }
      while (x < RANS_L && pos < end) x = (x << 8) | bytes[pos++];
      if (k >= lo && k <= hi) {
        out[i] = offset + k;
        continue;
      }
      if (k !== size) throw new CodecError('SYMBOL_OUT_OF_RANGE', `symbol ${offset + k} at ${i} is outside ${min}..${max}`);
      const eslot = x & ESCAPE_MASK;
      const v = eslot % range;
      x = escapeFreq(v, range) * (x >> ESCAPE_PRECISION_BITS) + (eslot - v) / range;
      while (x < RANS_L && pos < end) x = (x << 8) | bytes[pos++];
      const s = min + v;
      if (s >= offset && s < offset + size) throw new CodecError('NONCANONICAL_ESCAPE', `escape at ${i} codes in-table symbol ${s}`);
      out[i] = s;
    }
  }
  if (pos !== end) throw new CodecError('TRAILING_BYTES', `${end - pos} bytes left after ${out.length} symbols`);
  if (x !== 0) throw new CodecError('BAD_FINAL_STATE', `final state ${x}, expected 0`);
  return out;
}
