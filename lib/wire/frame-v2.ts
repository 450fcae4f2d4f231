// Wire version 2 (docs/wire-format.md §5): the link form of features frames and answers.
// A v1 frame repeats what the topic and the gateway's birth already say; v2 sends the
// rest, in varints, and its CRC covers the context it was written against. Inside a
// runtime frames stay v1; the links convert at the socket.
import { crc32c } from './crc32c';
import { WireError } from './errors';
import { CRC_BYTES, Frame, FrameLimits, KIND_CODE, MAGIC0, MAGIC1, checkDims, checkFlags, checkNdim, checkPayloadLength, kindFromCode, resolveLimits } from './layout';
import { LinkContext, V2_BITS, V2_KIND_MASK, V2_KNOWN_BITS, WIRE_VERSION_2, contextBytes } from './fields';
import { readVarint, unzigzag, varintBytes, writeVarint, zigzag } from './varint';
import { checkPayload } from './payload';

/** An answer as v2 carries it: what it answers (boot, seq, and the CRC of that frame's v1 form) and the answer itself. */
export interface AnswerV2 {
  kind: 'result' | 'ack';
  flags?: number;
  bootId: number;
  seq: number;
  /** CRC-32C of the v1 features frame answered (its last four bytes): only who saw the frame can give it. */
  echo: number;
  /** result: the task's compact answer (lib/task encodeAnswer), or UTF-8 JSON when `json`. ack: empty. */
  answer: Uint8Array;
  json?: boolean;
}

export type MessageV2 = { kind: 'features'; frame: Frame } | AnswerV2;

/** Whether bytes are a v2 frame (magic and version), before anything else is read. */
export function isFrameV2(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === MAGIC0 && buf[1] === MAGIC1 && buf[2] === WIRE_VERSION_2;
}

/** Index of a model in the context, or -1. */
export function modelIndex(ctx: LinkContext, modelId: string): number {
  return ctx.models.indexOf(modelId);
}

class Writer {
  readonly bytes: number[] = [];
  u8(v: number): this { this.bytes.push(v); return this; }
  u32(v: number): this { this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24); return this; }
  varint(v: number): this {
    const b = new Uint8Array(varintBytes(v));
    writeVarint(b, 0, v);
    this.bytes.push(...b);
    return this;
  }
  raw(b: Uint8Array): this { for (const x of b) this.bytes.push(x); return this; }
  /** The bytes with the CRC over context ‖ bytes appended. */
  seal(context: Uint8Array): Buffer {
    const body = Buffer.from(this.bytes);
    const out = Buffer.alloc(body.length + CRC_BYTES);
    body.copy(out);
    out.writeUInt32LE(crc32c(Buffer.concat([context, body])), body.length);
    return out;
  }
}

/** The common head: magic, version, kind byte (with the boot bit), flags, [boot], seq. */
function head(kind: Frame['kind'], bits: number, flags: number, bootId: number, seq: number, ctx: LinkContext): Writer {
  checkFlags(flags);
  const own = bootId === ctx.bootId;
  const w = new Writer().u8(MAGIC0).u8(MAGIC1).u8(WIRE_VERSION_2).u8(KIND_CODE[kind] | bits | (own ? 0 : V2_BITS.boot)).u8(flags);
  if (!own) w.u32(bootId);
  return w.varint(seq);
}

/** A v1 features frame in its v2 form against `ctx` (its gateway must be the context's, its model listed). */
export function encodeFeaturesV2(f: Frame, ctx: LinkContext): Buffer {
  if (f.kind !== 'features') throw new WireError('BAD_KIND', 'kind', `v2 carries features frames and answers, not ${f.kind}`);
  if (f.gatewayId !== ctx.gatewayId) throw new WireError('BAD_GATEWAY_ID', 'gatewayId', `frame of ${f.gatewayId} on the link of ${ctx.gatewayId}`);
  const model = modelIndex(ctx, f.modelId);
  if (model < 0) throw new WireError('BAD_MODEL_ID', 'modelId', `model ${f.modelId} is not in the link context`);
  const w = head('features', 0, f.flags ?? 0, f.bootId, f.seq, ctx).u8(f.rateLevel).varint(model).varint(zigzag(f.timestampMs - ctx.epochMs)).u8(f.shape.length);
  for (const d of f.shape) w.varint(d);
  return w.raw(f.payload).seal(contextBytes(ctx, f.bootId, { id: f.modelId }));
}

export function encodeAnswerV2(a: AnswerV2, ctx: LinkContext): Buffer {
  if (a.kind !== 'result' && a.kind !== 'ack') throw new WireError('BAD_KIND', 'kind', `not an answer kind: ${String(a.kind)}`);
  if (a.kind === 'ack' && (a.answer.length || a.json)) throw new WireError('BAD_PAYLOAD', 'answer', 'an ack carries no answer');
  const w = head(a.kind, a.json ? V2_BITS.json : 0, a.flags ?? 0, a.bootId, a.seq, ctx).u32(a.echo >>> 0);
  return w.raw(a.answer).seal(contextBytes(ctx, a.bootId));
}

/** Reads front to back; every read checks its bytes are there (the CRC's four excluded). */
class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end: number) {}
  u8(field: string): number {
    if (this.pos >= this.end) throw new WireError('TRUNCATED', field, `needs 1 byte at offset ${this.pos}`);
    return this.buf[this.pos++];
  }
  u32(field: string): number {
    if (this.pos + 4 > this.end) throw new WireError('TRUNCATED', field, `needs 4 bytes at offset ${this.pos}`);
    const b = this.buf;
    const v = (b[this.pos] | (b[this.pos + 1] << 8) | (b[this.pos + 2] << 16) | (b[this.pos + 3] << 24)) >>> 0;
    this.pos += 4;
    return v;
  }
  varint(field: string, max?: number): number {
    const [v, at] = readVarint(this.buf.subarray(0, this.end), this.pos, field, max);
    this.pos = at;
    return v;
  }
}

/**
 * Parses one v2 frame against the context of the topic it came on. Throws only WireError;
 * a frame read against another context (a stale birth, another gateway) fails BAD_CRC.
 */
export function decodeFrameV2(buf: Uint8Array, ctx: LinkContext, limits?: Partial<FrameLimits>): MessageV2 {
  if (!(buf instanceof Uint8Array)) throw new WireError('BAD_INPUT', 'frame', 'expected a Uint8Array');
  const lim = resolveLimits(limits);
  if (buf.length < 5 + CRC_BYTES) throw new WireError('TRUNCATED', 'frame', `${buf.length} bytes, a v2 frame has at least ${5 + CRC_BYTES}`);
  if (buf[0] !== MAGIC0 || buf[1] !== MAGIC1) throw new WireError('BAD_MAGIC', 'magic', 'not a split-dnn frame');
  if (buf[2] !== WIRE_VERSION_2) throw new WireError('BAD_VERSION', 'version', `version ${buf[2]}, expected ${WIRE_VERSION_2}`);
  const end = buf.length - CRC_BYTES;
  const r = new Reader(buf, end);
  r.pos = 3;
  const kindByte = r.u8('kind');
  const kind = kindFromCode(kindByte & V2_KIND_MASK);
  if ((kindByte & ~(V2_KIND_MASK | V2_KNOWN_BITS)) || (kind !== 'features' && kind !== 'result' && kind !== 'ack')) {
    throw new WireError('BAD_KIND', 'kind', `kind byte 0x${kindByte.toString(16)} is not a v2 kind`);
  }
  const json = (kindByte & V2_BITS.json) !== 0;
  if (json && kind !== 'result') throw new WireError('BAD_KIND', 'kind', `the JSON bit is for results, not ${kind}`);
  const flags = r.u8('flags');
  checkFlags(flags);
  const bootId = kindByte & V2_BITS.boot ? r.u32('bootId') : ctx.bootId;
  const seq = r.varint('seq', 0xffffffff);
  if (kind === 'features') return readFeatures(r, buf, ctx, lim, { flags, bootId, seq });
  const echo = r.u32('echo');
  const answer = new Uint8Array(buf.subarray(r.pos, end));
  checkCrc(buf, end, contextBytes(ctx, bootId));
  if (kind === 'ack' && answer.length) throw new WireError('BAD_PAYLOAD', 'answer', `ack has ${answer.length} answer bytes`);
  if (kind === 'result' && !answer.length) throw new WireError('BAD_PAYLOAD', 'answer', 'a result with no answer');
  if (json) checkPayload('result', answer);
  return { kind, bootId, seq, echo, answer, ...(json ? { json } : {}), ...(flags ? { flags } : {}) };
}

function readFeatures(r: Reader, buf: Uint8Array, ctx: LinkContext, lim: FrameLimits, h: { flags: number; bootId: number; seq: number }): { kind: 'features'; frame: Frame } {
  const rateLevel = r.u8('rateLevel');
  const index = r.varint('model', 0xff);
  const modelId = ctx.models[index];
  if (modelId === undefined) throw new WireError('BAD_MODEL_ID', 'model', `model ${index} is not in the context (${ctx.models.length} announced)`);
  const timestampMs = ctx.epochMs + unzigzag(r.varint('timestampMs'));
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new WireError('BAD_TIMESTAMP', 'timestampMs', 'outside 0..2^53-1 ms');
  const ndim = r.u8('ndim');
  checkNdim('features', ndim);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(r.varint('shape', 0xffff));
  checkDims(shape, lim);
  const end = buf.length - CRC_BYTES;
  checkPayloadLength(end - r.pos, lim);
  checkCrc(buf, end, contextBytes(ctx, h.bootId, { id: modelId }));
  const frame: Frame = { kind: 'features', rateLevel, modelId, gatewayId: ctx.gatewayId, bootId: h.bootId, seq: h.seq, timestampMs, shape, payload: new Uint8Array(buf.subarray(r.pos, end)) };
  if (h.flags) frame.flags = h.flags;
  return { kind: 'features', frame };
}

function checkCrc(buf: Uint8Array, end: number, context: Uint8Array): void {
  const stored = (buf[end] | (buf[end + 1] << 8) | (buf[end + 2] << 16) | (buf[end + 3] << 24)) >>> 0;
  const actual = crc32c(Buffer.concat([context, buf.subarray(0, end)]));
  if (actual !== stored) throw new WireError('BAD_CRC', 'crc', `stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)} (another context, or damaged)`);
}
