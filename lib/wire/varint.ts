// Unsigned LEB128 varints (7 bits a byte, low first) up to 2^53 - 1, and zigzag for signed
// deltas, so a small number costs one byte where v1 spends a fixed four or eight.
import { WireError } from './errors';

/** Bytes a varint of v takes (v a safe integer >= 0). */
export function varintBytes(v: number): number {
  let len = 1;
  while (v >= 0x80) { v = Math.floor(v / 0x80); len++; }
  return len;
}

/** Writes v at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) { out[at++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
  out[at++] = v;
  return at;
}

/** Safe integers only: 8 bytes of 7 bits hold 2^56, the 8th byte is checked against 2^53. */
const MAX_VARINT_BYTES = 8;

/** Reads a varint at `at`: [value, offset after it]. Refuses one longer than `max` allows. */
export function readVarint(buf: Uint8Array, at: number, field: string, max = Number.MAX_SAFE_INTEGER): [number, number] {
  let v = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (at >= buf.length) throw new WireError('TRUNCATED', field, `varint runs past the end at offset ${at}`);
    if (i === MAX_VARINT_BYTES) throw new WireError('BAD_FIELD', field, `varint longer than ${MAX_VARINT_BYTES} bytes`);
    const b = buf[at++];
    v += (b & 0x7f) * scale;
    scale *= 0x80;
    if (!(b & 0x80)) {
      // one spelling per value, so an accepted frame re-encodes to its own bytes
      if (b === 0 && i > 0) throw new WireError('BAD_FIELD', field, 'varint has a redundant trailing zero byte');
      break;
    }
  }
  if (v > max) throw new WireError('BAD_FIELD', field, `${v} is above ${max}`);
  return [v, at];
}

/** Signed → unsigned: 0, -1, 1, -2 ... → 0, 1, 2, 3 ... (exact for |v| < 2^52). */
export function zigzag(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}
