// A batch: several wire frames in one MQTT message (docs/wire-format.md §4). Under load
// a gateway has many small frames waiting; one message for all of them pays the MQTT,
// TCP and IP headers once, and DEFLATE then squeezes out what the frames' headers share
// (same gateway, model, boot; JSON keys of results). Each frame keeps its own CRC, so the
// batch needs none: a damaged batch fails to inflate, to parse, or a frame's CRC.
import * as zlib from 'node:zlib';
import { WireError } from './errors';

/** 'S','B' (a frame starts 'S','D') */
export const BATCH_MAGIC0 = 0x53;
export const BATCH_MAGIC1 = 0x42;
export const BATCH_VERSION = 1;
const FLAG_DEFLATE = 0x01;
const HEADER_BYTES = 6; // magic 2, version 1, flags 1, count u16 LE
/**
 * Frames per batch at most, for senders and receivers alike: what a gateway sends (its
 * *Batch* setting is capped here), and what a receiver takes before it refuses a message
 * whole. The count field has room for 65,535; a receiver that took that many would give
 * one peer's message seconds of work and gigabytes.
 */
export const MAX_BATCH_FRAMES = 64;

export interface BatchLimits {
  /** Bytes of the (inflated) body at most: also the cap against inflation bombs. */
  maxBodyBytes: number;
  /** Frames at most (default MAX_BATCH_FRAMES), checked before the body is read. */
  maxFrames: number;
}
export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({ maxBodyBytes: 16 << 20, maxFrames: MAX_BATCH_FRAMES });

export type DeflateMode = 'auto' | 'always' | 'never';

/** Whether a message is a batch (else it should be a single frame). */
export function isBatch(msg: Uint8Array): boolean {
  return msg.length >= 2 && msg[0] === BATCH_MAGIC0 && msg[1] === BATCH_MAGIC1;
}

function varintBytes(n: number): number {
  let len = 1;
  while (n >= 0x80) { n = Math.floor(n / 0x80); len++; }
  return len;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) { out[at++] = (n % 0x80) | 0x80; n = Math.floor(n / 0x80); }
  out[at++] = n;
  return at;
}

/**
 * Packs frames (already encoded, not checked again) into one batch. `auto` deflates the
 * body only when that makes the message smaller, which it does from about two frames.
 */
export function encodeBatch(frames: readonly Uint8Array[], deflate: DeflateMode = 'auto'): Buffer {
  if (!Array.isArray(frames) || frames.length < 1 || frames.length > MAX_BATCH_FRAMES) {
    throw new WireError('BAD_FIELD', 'batch.count', `a batch holds 1..${MAX_BATCH_FRAMES} frames, got ${Array.isArray(frames) ? frames.length : typeof frames}`);
  }
  let size = 0;
  for (const f of frames) {
    if (!(f instanceof Uint8Array)) throw new WireError('BAD_INPUT', 'batch.frame', 'every frame must be a Uint8Array');
    size += varintBytes(f.length) + f.length;
  }
  let body = Buffer.alloc(size);
  let at = 0;
  for (const f of frames) {
    at = writeVarint(body, at, f.length);
    body.set(f, at);
    at += f.length;
  }
  let flags = 0;
  if (deflate !== 'never') {
    const packed = zlib.deflateRawSync(body);
    if (deflate === 'always' || packed.length < body.length) { body = packed; flags |= FLAG_DEFLATE; }
  }
  const out = Buffer.alloc(HEADER_BYTES + body.length);
  out[0] = BATCH_MAGIC0;
  out[1] = BATCH_MAGIC1;
  out[2] = BATCH_VERSION;
  out[3] = flags;
  out.writeUInt16LE(frames.length, 4);
  body.copy(out, HEADER_BYTES);
  return out;
}

function inflate(bytes: Uint8Array, maxBodyBytes: number): Buffer {
  try {
    return zlib.inflateRawSync(bytes, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new WireError('OVER_CAP', 'batch.body', `inflates past ${maxBodyBytes} bytes`);
    }
    throw new WireError('BAD_PAYLOAD', 'batch.body', `not a DEFLATE stream: ${(err as Error).message}`);
  }
}

/**
 * The frames of a batch, as byte slices (decode each with decodeFrame). Throws WireError
 * on anything malformed; never returns part of a batch.
 */
export function decodeBatch(msg: Uint8Array, limits?: Partial<BatchLimits>): Buffer[] {
  if (!(msg instanceof Uint8Array)) throw new WireError('BAD_INPUT', 'batch', 'expected a Uint8Array');
  const { maxBodyBytes, maxFrames } = { ...DEFAULT_BATCH_LIMITS, ...(limits ?? {}) };
  if (msg.length < HEADER_BYTES) throw new WireError('TRUNCATED', 'batch.header', `${msg.length} bytes, the header alone is ${HEADER_BYTES}`);
  if (!isBatch(msg)) throw new WireError('BAD_MAGIC', 'batch.magic', 'expected 0x53 0x42 ("SB")');
  if (msg[2] !== BATCH_VERSION) throw new WireError('BAD_VERSION', 'batch.version', `expected ${BATCH_VERSION}, got ${msg[2]}`);
  const flags = msg[3];
  if (flags & ~FLAG_DEFLATE) throw new WireError('BAD_FLAGS', 'batch.flags', `reserved bits set: 0x${flags.toString(16)}`);
  const count = msg[4] | (msg[5] << 8);
  if (count < 1) throw new WireError('BAD_FIELD', 'batch.count', 'a batch holds at least one frame');
  if (count > maxFrames) throw new WireError('OVER_CAP', 'batch.count', `${count} frames, cap ${maxFrames}`);
  const raw = Buffer.from(msg.buffer, msg.byteOffset + HEADER_BYTES, msg.length - HEADER_BYTES);
  if (!(flags & FLAG_DEFLATE) && raw.length > maxBodyBytes) throw new WireError('OVER_CAP', 'batch.body', `${raw.length} bytes, cap ${maxBodyBytes}`);
  const body = flags & FLAG_DEFLATE ? inflate(raw, maxBodyBytes) : raw;
  const frames: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    let len = 0;
    let scale = 1;
    for (let shift = 0; ; shift++) {
      if (at >= body.length) throw new WireError('TRUNCATED', 'batch.length', `frame ${i} of ${count}: its length runs past the end`);
      if (shift === 4 && body[at] > 0x0f) throw new WireError('OVER_CAP', 'batch.length', `frame ${i}: length above 2^32 - 1`);
      const b = body[at++];
      len += (b & 0x7f) * scale;
      scale *= 0x80;
      if (!(b & 0x80)) break;
    }
    if (at + len > body.length) throw new WireError('TRUNCATED', 'batch.frame', `frame ${i} of ${count}: ${len} bytes declared, ${body.length - at} left`);
    frames.push(body.subarray(at, at + len));
    at += len;
  }
  if (at !== body.length) throw new WireError('TRAILING_BYTES', 'batch', `${body.length - at} bytes after frame ${count}`);
  return frames;
}

/** The frames a message carries: a batch's, or the message itself when it is one frame. */
export function framesOf(msg: Uint8Array, limits?: Partial<BatchLimits>): Buffer[] {
  return isBatch(msg) ? decodeBatch(msg, limits) : [Buffer.from(msg.buffer, msg.byteOffset, msg.length)];
}
