/**
 * A second, deliberately plain implementation of the coder, written from
 * docs/wire-format.md and not from lib/codec: full sort for the slot spread, no lookup
 * tables, no scratch buffers. The vector generator and the property tests check that
 * lib/codec produces exactly its bytes.
 */

export interface RefChannel {
  offset: number;
  counts: number[];
}

const ESCAPE_SLOTS = 2 ** 16;

export function refNormalize(counts: number[], p: number): number[] {
  const M = 2 ** p;
  const n = counts.length + 1;
  const total = counts.reduce((a, b) => a + b, 0);
  const spare = M - n;
  const freq: number[] = [];
  const rem: number[] = [];
  for (const c of counts) {
    freq.push(1 + Math.floor((c * spare) / total));
    rem.push((c * spare) % total);
  }
  freq.push(1);
  rem.push(0);
  let left = M - freq.reduce((a, b) => a + b, 0);
  const order = freq.map((_, i) => i).sort((a, b) => rem[b] - rem[a] || a - b);
  for (const i of order) if (left-- > 0) freq[i]++;
  return freq;
}

/** slots[k][j]: the slot of occurrence j of index k. */
export function refSpread(freq: number[]): number[][] {
  const items: Array<[number, number]> = [];
  freq.forEach((f, k) => {
    for (let j = 0; j < f; j++) items.push([k, j]);
  });
  items.sort(([k1, j1], [k2, j2]) => (2 * j1 + 1) * freq[k2] - (2 * j2 + 1) * freq[k1] || k1 - k2);
  const slots = freq.map(() => [] as number[]);
  items.forEach(([k, j], slot) => (slots[k][j] = slot));
  return slots;
}

/**
 * A symbol alphabet on 2^precision slots: with quotient q = floor(x / freq[k]) below
 * `spreadBelow`, occurrence j of index k sits in slots[k][j]; from there on, in the
 * contiguous slot cum[k] + j.
 */
interface Model {
  precision: number;
  freq: number[];
  cum: number[];
  slots: number[][];
  spreadBelow: number;
}

function model(freq: number[], precision: number, slots: number[][], spreadBelow: number): Model {
  let sum = 0;
  const cum = freq.map((f) => (sum += f) - f);
  return { precision, freq, cum, slots, spreadBelow };
}

function tableModel(counts: number[], p: number): Model {
  const freq = refNormalize(counts, p);
  return model(freq, p, refSpread(freq), 2 ** (23 - p));
}

function escapeModel(range: number): Model {
  const freq = Array.from({ length: range }, (_, v) => Math.ceil((ESCAPE_SLOTS - v) / range));
  const slots = freq.map((f, v) => Array.from({ length: f }, (_, j) => v + j * range));
  return model(freq, 16, slots, Infinity); // always interleaved
}

function slotOf(m: Model, q: number, k: number, j: number): number {
  return q < m.spreadBelow ? m.slots[k][j] : m.cum[k] + j;
}

/** One rANS step in the encoder; bytes are collected in reverse order. */
function put(x: number, k: number, model: Model, rev: number[]): number {
  const f = model.freq[k];
  while (x >= 2 ** (31 - model.precision) * f) {
    rev.push(x % 256);
    x = Math.floor(x / 256);
  }
  const q = Math.floor(x / f);
  return q * 2 ** model.precision + slotOf(model, q, k, x % f);
}

export function refEncode(
  symbols: number[],
  shape: number[],
  channels: RefChannel[],
  p: number,
  clamp: { min: number; max: number },
  /** Test hook: code these positions through the escape even if the table has them. */
  forceEscape: Set<number> = new Set(),
): number[] {
  const perChannel = shape.slice(1).reduce((a, b) => a * b, 1);
  const models = channels.map((ch) => tableModel(ch.counts, p));
  const escape = escapeModel(clamp.max - clamp.min + 1);
  const rev: number[] = [];
  let x = 0;
  for (let i = symbols.length - 1; i >= 0; i--) {
    const c = Math.floor(i / perChannel);
    const k = symbols[i] - channels[c].offset;
    if (k >= 0 && k < channels[c].counts.length && !forceEscape.has(i)) {
      x = put(x, k, models[c], rev);
    } else {
      x = put(x, symbols[i] - clamp.min, escape, rev);
      x = put(x, channels[c].counts.length, models[c], rev);
    }
  }
  while (x > 0) {
    rev.push(x % 256);
    x = Math.floor(x / 256);
  }
  return rev.reverse();
}

/** The documented decoder; returns the symbols or the CodecError code it must fail with. */
export function refDecode(
  bytes: number[],
  shape: number[],
  channels: RefChannel[],
  p: number,
  clamp: { min: number; max: number },
): number[] | string {
  const L = 2 ** 23;
  const perChannel = shape.slice(1).reduce((a, b) => a * b, 1);
  const count = perChannel * shape[0];
  /** The (index, occurrence) owning a slot under the layout for quotient q: a plain search. */
  const owner = (m: Model, q: number, slot: number): [number, number] => {
    for (let k = 0; k < m.freq.length; k++) {
      const j = q < m.spreadBelow ? m.slots[k].indexOf(slot) : slot - m.cum[k];
      if (j >= 0 && j < m.freq[k]) return [k, j];
    }
    throw new Error('slot without owner');
  };
  const step = (m: Model): number => {
    const M = 2 ** m.precision;
    const q = Math.floor(x / M);
    const [k, j] = owner(m, q, x % M);
    x = m.freq[k] * q + j;
    while (x < L && pos < bytes.length) x = x * 256 + bytes[pos++];
    return k;
  };
  const models = channels.map((ch) => tableModel(ch.counts, p));
  const escape = escapeModel(clamp.max - clamp.min + 1);
  if (bytes.length > 0 && bytes[0] === 0) return 'BAD_STREAM';
  let pos = 0;
  let x = 0;
  while (x < L && pos < bytes.length) x = x * 256 + bytes[pos++];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const ch = channels[Math.floor(i / perChannel)];
    const k = step(models[Math.floor(i / perChannel)]);
    if (k < ch.counts.length) {
      const s = ch.offset + k;
      if (s < clamp.min || s > clamp.max) return 'SYMBOL_OUT_OF_RANGE';
      out.push(s);
      continue;
    }
    const s = clamp.min + step(escape);
    if (s >= ch.offset && s < ch.offset + ch.counts.length) return 'NONCANONICAL_ESCAPE';
    out.push(s);
  }
  if (pos !== bytes.length) return 'TRAILING_BYTES';
  if (x !== 0) return 'BAD_FINAL_STATE';
  return out;
}
