import { crc32c } from './crc32c';
import { WireError } from './errors';
import {
  CRC_BYTES,
  FRAME_KINDS,
  Frame,
  FrameLimits,
  HEADER_FIXED_BYTES,
  JsonObject,
  KIND_CODE,
  checkFlags,
  MAGIC0,
  MAGIC1,
  MODEL_ID_BYTES,
  OFFSET,
  WIRE_VERSION,
  checkDims,
  checkGatewayIdLength,
  checkNdim,
  checkPayloadLength,
  isGatewayIdByte,
  isJsonKind,
  kindFromCode,
  resolveLimits,
} from './layout';
import { checkPayload, jsonPayload } from './payload';

const TWO_32 = 0x1_0000_0000;
/** High word of the largest timestamp that is exact as a JS number (2^53 - 1). */
const MAX_TIMESTAMP_HIGH = 0x1f_ffff;

/** What encodeFrame takes: a Frame whose payload may be given as a JSON body instead. */
export type FrameInput = Omit<Frame, 'payload' | 'body'> & { payload?: Uint8Array; body?: JsonObject };

/**
 * Serializes a frame. Validates every field with the same rules (and limits) as
 * decodeFrame, so whatever it returns decodes to the same frame.
 */
export function encodeFrame(input: FrameInput, limits?: Partial<FrameLimits>): Buffer {
  const lim = resolveLimits(limits);
  if (typeof input !== 'object' || input === null) throw new WireError('BAD_INPUT', 'frame', 'expected a frame object');
  if (!FRAME_KINDS.includes(input.kind)) throw new WireError('BAD_KIND', 'kind', `unknown kind ${String(input.kind)}`);
  checkUint(input.rateLevel, 0xff, 'rateLevel');
  const flags = input.flags ?? 0;
  checkUint(flags, 0xff, 'flags');
  checkFlags(flags);
  checkUint(input.bootId, 0xffffffff, 'bootId');
  checkUint(input.seq, 0xffffffff, 'seq');
  if (!Number.isSafeInteger(input.timestampMs) || input.timestampMs < 0) {
    throw new WireError('BAD_TIMESTAMP', 'timestampMs', `must be an integer 0..2^53-1, got ${String(input.timestampMs)}`);
  }
  const modelId = modelIdBytes(input.modelId);
  const gateway = gatewayIdBytes(input.gatewayId);
  const shape = input.shape;
  if (!Array.isArray(shape)) throw new WireError('BAD_SHAPE', 'shape', 'must be an array');
  checkNdim(input.kind, shape.length);
  checkDims(shape, lim);
  const payload = payloadOf(input);
  checkPayloadLength(payload.length, lim);
  checkPayload(input.kind, payload);

  const payloadAt = HEADER_FIXED_BYTES + gateway.length + 2 * shape.length;
  const out = Buffer.allocUnsafe(payloadAt + payload.length + CRC_BYTES);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[OFFSET.version] = WIRE_VERSION;
  out[OFFSET.kind] = KIND_CODE[input.kind];
  out[OFFSET.flags] = flags;
  out[OFFSET.rateLevel] = input.rateLevel;
  out.set(modelId, OFFSET.modelId);
  out.writeUInt32LE(input.bootId, OFFSET.bootId);
  out.writeUInt32LE(input.seq, OFFSET.seq);
  out.writeUInt32LE(input.timestampMs % TWO_32, OFFSET.timestampMs);
  out.writeUInt32LE(Math.floor(input.timestampMs / TWO_32), OFFSET.timestampMs + 4);
  out[OFFSET.gatewayIdLength] = gateway.length;
  out.set(gateway, OFFSET.gatewayId);
  let at = OFFSET.gatewayId + gateway.length;
  out[at++] = shape.length;
  for (const d of shape) at = out.writeUInt16LE(d, at);
  at = out.writeUInt32LE(payload.length, at);
  out.set(payload, at);
  at += payload.length;
  out.writeUInt32LE(crc32c(out.subarray(0, at)), at);
  return out;
}

function payloadOf(input: FrameInput): Uint8Array {
  if (input.payload !== undefined) {
    if (!(input.payload instanceof Uint8Array)) throw new WireError('BAD_PAYLOAD', 'payload', 'must be a Uint8Array');
    return input.payload;
  }
  if (input.body === undefined) return new Uint8Array(0);
  if (!isJsonKind(input.kind)) throw new WireError('BAD_PAYLOAD', 'body', `a ${input.kind} frame has no JSON body`);
  return jsonPayload(input.body);
}

function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('BAD_FIELD', field, `must be an integer 0..${max}, got ${String(v)}`);
  }
}

function modelIdBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{16}$/.test(hex)) {
    throw new WireError('BAD_MODEL_ID', 'modelId', 'must be 16 hex characters (8 bytes of the manifest hash)');
  }
  return Buffer.from(hex, 'hex');
}

function gatewayIdBytes(id: string): Uint8Array {
  if (typeof id !== 'string') throw new WireError('BAD_GATEWAY_ID', 'gatewayId', 'must be a string');
  checkGatewayIdLength(id.length);
  const codes = Array.from(id, (ch) => ch.charCodeAt(0));
  checkGatewayIdChars(codes);
  return Uint8Array.from(codes);
}

function checkGatewayIdChars(codes: ArrayLike<number>): void {
  for (let i = 0; i < codes.length; i++) {
    if (!isGatewayIdByte(codes[i])) {
      throw new WireError('BAD_GATEWAY_ID', 'gatewayId', `character ${i} (0x${codes[i].toString(16)}) is not in [A-Za-z0-9._-]`);
    }
  }
}

/** Reads fields front to back; every read first checks that its bytes are present. */
class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, field: string): void {
    const left = this.buf.length - this.pos;
    if (left < n) throw new WireError('TRUNCATED', field, `needs ${n} bytes at offset ${this.pos}, ${left} present`);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** A view (no copy) of the next n bytes. */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/**
 * Parses and validates one frame (the whole buffer is the frame). Checks run in wire
 * order, and each length is compared with the cap and with the bytes present before
 * anything is allocated from it; the CRC is checked once the structure is known good.
 * Throws only WireError.
 */
export function decodeFrame(buf: Uint8Array, limits?: Partial<FrameLimits>): Frame {
  if (!(buf instanceof Uint8Array)) throw new WireError('BAD_INPUT', 'frame', 'expected a Uint8Array');
  const lim = resolveLimits(limits);
  const r = new Reader(buf);
  const magic = r.take(2, 'magic');
  if (magic[0] !== MAGIC0 || magic[1] !== MAGIC1) throw new WireError('BAD_MAGIC', 'magic', 'not a split-dnn frame');
  const version = r.u8('version');
  if (version !== WIRE_VERSION) throw new WireError('BAD_VERSION', 'version', `version ${version}, this decoder reads ${WIRE_VERSION}`);
  const kindCode = r.u8('kind');
  const kind = kindFromCode(kindCode);
  if (kind === undefined) throw new WireError('BAD_KIND', 'kind', `unknown kind ${kindCode}`);
  const flags = r.u8('flags');
  checkFlags(flags);
  const rateLevel = r.u8('rateLevel');
  const modelId = Buffer.from(r.take(MODEL_ID_BYTES, 'modelId')).toString('hex');
  const bootId = r.u32('bootId');
  const seq = r.u32('seq');
  r.need(8, 'timestampMs');
  const low = r.u32('timestampMs');
  const high = r.u32('timestampMs');
  if (high > MAX_TIMESTAMP_HIGH) throw new WireError('BAD_TIMESTAMP', 'timestampMs', 'above 2^53-1 ms');
  const gatewayLength = r.u8('gatewayIdLength');
  checkGatewayIdLength(gatewayLength);
  const gatewayBytes = r.take(gatewayLength, 'gatewayId');
  checkGatewayIdChars(gatewayBytes);
  const ndim = r.u8('ndim');
  checkNdim(kind, ndim);
  r.need(2 * ndim, 'shape');
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(r.u16('shape'));
  checkDims(shape, lim);
  const payloadLength = r.u32('payloadLength');
  checkPayloadLength(payloadLength, lim);
  const payloadView = r.take(payloadLength, 'payload');
  const crcAt = r.pos;
  const crc = r.u32('crc');
  if (r.pos !== buf.length) throw new WireError('TRAILING_BYTES', 'frame', `${buf.length - r.pos} bytes after the CRC`);
  const actual = crc32c(buf.subarray(0, crcAt));
  if (actual !== crc) throw new WireError('BAD_CRC', 'crc', `stored 0x${crc.toString(16)}, computed 0x${actual.toString(16)}`);
  const body = checkPayload(kind, payloadView);

  const payload = new Uint8Array(payloadLength); // a copy: the caller may reuse buf
  payload.set(payloadView);
  const frame: Frame = {
    kind,
    rateLevel,
    modelId,
    gatewayId: Buffer.from(gatewayBytes).toString('latin1'),
    bootId,
    seq,
    timestampMs: high * TWO_32 + low,
    shape,
    payload,
  };
  if (body !== undefined) frame.body = body;
  if (flags !== 0) frame.flags = flags;
  return frame;
}

