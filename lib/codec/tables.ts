import { CodecError } from './errors';
import { INT32_MAX, INT32_MIN, checkIntRange } from './quantize';
import { SpreadLayout, spreadSlots } from './spread';

/** The coder name a manifest's `entropy.coder` must carry for these tables. */
export const RANS_CODER_NAME = 'rans32/1';
export const MIN_PRECISION_BITS = 8;
export const MAX_PRECISION_BITS = 16;
/** Largest sum of a channel's counts: keeps count * 2^16 exact in a double (and a uint64). */
export const MAX_TABLE_TOTAL = 2 ** 36;
/** The escaped value is coded over 2^16 slots, so the clamp range may have up to 2^16 values. */
export const ESCAPE_PRECISION_BITS = 16;
export const MAX_CLAMP_RANGE = 1 << ESCAPE_PRECISION_BITS;
/** rANS lower state bound: the state lives in [L, 256 L) = [2^23, 2^31) once it is full. */
export const RANS_L = 1 << 23;
/** Contiguous-slot search starts from one of 2^8 buckets. */
export const BUCKET_BITS = 8;

/** One channel of the manifest's `entropy.channels`: counts[i] is the count of symbol offset + i. */
export interface ChannelSpec {
  offset: number;
  counts: readonly number[];
}
/** The manifest's `entropy` of a rate level. */
export interface EntropySpec {
  coder?: string;
  precisionBits: number;
  channels: readonly ChannelSpec[];
}

export interface ChannelTable {
  readonly offset: number;
  /** Number of in-table symbols; index `size` is the escape. */
  readonly size: number;
  /** Normalized frequencies, size + 1 entries, sum 2^precisionBits, each >= 1. */
  readonly freq: Int32Array;
  /** cum[k] = freq[0] + ... + freq[k-1]; size + 2 entries: index k's contiguous slots. */
  readonly cum: Int32Array;
  /** The encoder renormalizes while state >= encLimit[k] = 2^(31 - precisionBits) * freq[k]. */
  readonly encLimit: Int32Array;
  /** bucketIndex[b]: the index owning contiguous slot b << (precisionBits - 8), where a decoder's search starts. */
  readonly bucketIndex: Uint16Array;
  /** The interleaved layout for small states (see spreadSlots). */
  readonly spread: SpreadLayout;
}

export interface CoderTables {
  readonly precisionBits: number;
  readonly channels: readonly ChannelTable[];
}

/** Symbols, clamp range: what encode/decode accept besides the tables. */
export interface Clamp {
  min: number;
  max: number;
}

/**
 * Count -> frequency normalization, integer only (spelled out step by step in
 * docs/wire-format.md). n = K + 1 symbols (the K counts, then the escape with count 0);
 * every symbol first gets 1, the other M - n slots are shared in proportion to the counts
 * (floor), and the slots left over go one each to the largest remainders, ties to the
 * lower index (largest-remainder method, which keeps higher counts >= lower ones).
 */
export function normalizeCounts(counts: readonly number[], precisionBits: number): Int32Array {
  // counts as buildCoderTables accepts them: integers >= 0, 0 < sum <= 2^36, K + 1 <= 2^p
  const M = 2 ** precisionBits;
  const n = counts.length + 1;
  const spare = M - n;
  const total = counts.reduce((a, b) => a + b, 0);
  const freq = new Int32Array(n).fill(1);
  const remainder = new Float64Array(n);
  let left = spare;
  for (let i = 0; i < counts.length; i++) {
    const share = counts[i] * spare; // < 2^52: exact
    const q = Math.floor(share / total); // exact integer division of exact integers
    freq[i] += q;
    remainder[i] = share - q * total;
    left -= q;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => remainder[b] - remainder[a] || a - b);
  for (let j = 0; j < left; j++) freq[order[j]] += 1;
  return freq;
}

export function buildCoderTables(spec: EntropySpec): CoderTables {
  if (typeof spec !== 'object' || spec === null) throw new CodecError('BAD_TABLE', 'entropy spec must be an object');
  if (spec.coder !== undefined && spec.coder !== RANS_CODER_NAME) {
    throw new CodecError('BAD_TABLE', `coder ${String(spec.coder)} is not ${RANS_CODER_NAME}`);
  }
  const p = spec.precisionBits;
  if (!Number.isInteger(p) || p < MIN_PRECISION_BITS || p > MAX_PRECISION_BITS) {
    throw new CodecError('BAD_TABLE', `precisionBits must be an integer ${MIN_PRECISION_BITS}..${MAX_PRECISION_BITS}, got ${String(p)}`);
  }
  if (!Array.isArray(spec.channels) || spec.channels.length === 0) {
    throw new CodecError('BAD_TABLE', 'channels must be a non-empty array');
  }
  const channels = spec.channels.map((ch, c) => buildChannel(ch, c, p));
  return { precisionBits: p, channels };
}

function buildChannel(ch: ChannelSpec, c: number, p: number): ChannelTable {
  const where = `channel ${c}`;
  if (typeof ch !== 'object' || ch === null || !Array.isArray(ch.counts)) {
    throw new CodecError('BAD_TABLE', `${where}: needs {offset, counts[]}`);
  }
  const K = ch.counts.length;
  if (K < 1 || K + 1 > 2 ** p) throw new CodecError('BAD_TABLE', `${where}: ${K} counts, allowed 1..2^${p}-1`);
  if (!Number.isInteger(ch.offset) || ch.offset < INT32_MIN || ch.offset + K - 1 > INT32_MAX) {
    throw new CodecError('BAD_TABLE', `${where}: offset ${String(ch.offset)} with ${K} counts leaves int32`);
  }
  let total = 0;
  for (const n of ch.counts) {
    if (!Number.isSafeInteger(n) || n < 0) throw new CodecError('BAD_TABLE', `${where}: count ${String(n)} is not a non-negative integer`);
    total += n;
  }
  if (total <= 0 || total > MAX_TABLE_TOTAL) throw new CodecError('BAD_TABLE', `${where}: counts sum to ${total}, allowed 1..2^36`);

  const freq = normalizeCounts(ch.counts, p);
  const cum = new Int32Array(K + 2);
  const encLimit = new Int32Array(K + 1);
  for (let k = 0; k <= K; k++) {
    cum[k + 1] = cum[k] + freq[k];
    encLimit[k] = ((RANS_L >>> p) << 8) * freq[k];
  }
  const bucketIndex = new Uint16Array(1 << BUCKET_BITS);
  for (let b = 0, k = 0; b < bucketIndex.length; b++) {
    while (cum[k + 1] <= b << (p - BUCKET_BITS)) k++;
    bucketIndex[b] = k;
  }
  return { offset: ch.offset, size: K, freq, cum, encLimit, bucketIndex, spread: spreadSlots(freq, cum, p) };
}

export function checkClamp(clamp: Clamp): void {
  if (typeof clamp !== 'object' || clamp === null) throw new CodecError('BAD_CLAMP', 'clamp must be {min, max}');
  checkIntRange(clamp.min, clamp.max, 'BAD_CLAMP');
  if (clamp.max - clamp.min + 1 > MAX_CLAMP_RANGE) {
    throw new CodecError('BAD_CLAMP', `clamp range ${clamp.min}..${clamp.max} has more than ${MAX_CLAMP_RANGE} values`);
  }
}

/**
 * Validates a symbol shape [C, ...] (1..4 dims, positive integers, C = number of tables)
 * against the cap, without allocating. Returns the symbols per channel.
 */
export function checkShape(shape: readonly number[], tables: CoderTables, maxSymbols: number): number {
  if (typeof tables !== 'object' || tables === null || !Array.isArray(tables.channels)) {
    throw new CodecError('BAD_TABLE', 'tables must come from buildCoderTables');
  }
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4) throw new CodecError('BAD_SHAPE', 'shape must have 1..4 dims');
  let product = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) throw new CodecError('BAD_SHAPE', `dim ${String(d)} is not a positive integer`);
    product *= d;
  }
  if (product > maxSymbols) throw new CodecError('OVER_CAP', `${product} symbols > maxSymbols ${maxSymbols}`);
  if (shape[0] !== tables.channels.length) {
    throw new CodecError('BAD_SHAPE', `shape has ${shape[0]} channels, the tables ${tables.channels.length}`);
  }
  return product / shape[0];
}
