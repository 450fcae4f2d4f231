import { WireError } from './errors';

/** 'S','D' */
export const MAGIC0 = 0x53;
export const MAGIC1 = 0x44;
export const WIRE_VERSION = 1;

export const FRAME_KINDS = ['features', 'result', 'ack', 'birth', 'death'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];
/** Kind byte on the wire: features=1 ... death=5 (0 is never valid). */
export const KIND_CODE: Readonly<Record<FrameKind, number>> = {
  features: 1,
  result: 2,
  ack: 3,
  birth: 4,
  death: 5,
};
export function kindFromCode(code: number): FrameKind | undefined {
  return FRAME_KINDS[code - 1];
}
/** Kinds whose payload is a UTF-8 JSON object. */
export function isJsonKind(kind: FrameKind): boolean {
  return kind === 'result' || kind === 'birth' || kind === 'death';
}

/** Byte offsets of the fixed-size part of the header. */
export const OFFSET = {
  magic: 0,
  version: 2,
  kind: 3,
  flags: 4,
  rateLevel: 5,
  modelId: 6,
  bootId: 14,
  seq: 18,
  timestampMs: 22,
  gatewayIdLength: 30,
  gatewayId: 31,
} as const;
export const MODEL_ID_BYTES = 8;
export const MAX_GATEWAY_ID_BYTES = 64;
export const MAX_NDIM = 4;
export const MAX_DIM = 0xffff;
export const CRC_BYTES = 4;
/** Header bytes besides the gateway id and dims: 31 fixed + ndim + payload length. */
export const HEADER_FIXED_BYTES = OFFSET.gatewayId + 1 + 4;
/** The smallest possible frame: 1-byte gateway id, ndim 0, empty payload. */
export const MIN_FRAME_BYTES = HEADER_FIXED_BYTES + 1 + CRC_BYTES;

export type JsonObject = { [key: string]: unknown };

export interface Frame {
  kind: FrameKind;
  /** Index into the manifest's `rates` (u8). For result/ack: the rate of the frame answered. */
  rateLevel: number;
  /** 16 lowercase hex characters: the first 8 bytes of the manifest's SHA-256. */
  modelId: string;
  /** 1..64 characters of [A-Za-z0-9._-] (it becomes an MQTT topic level). */
  gatewayId: string;
  /** u32, new random value per gateway process start. */
  bootId: number;
  /** u32, per (gateway, boot); result/ack echo the seq of the frame they answer. */
  seq: number;
  /** Capture time, ms since the Unix epoch, integer 0 .. 2^53-1. */
  timestampMs: number;
  /** features: the symbol shape, 1..4 dims of 1..65535; every other kind: []. */
  shape: readonly number[];
  /** features: coded symbols; result/birth/death: UTF-8 JSON object; ack: empty. */
  payload: Uint8Array;
  /** result/birth/death: the parsed payload (set by decodeFrame). */
  body?: JsonObject;
  /** Bit set of FRAME_FLAGS; absent means 0. Unknown bits are refused on decode. */
  flags?: number;
}

/** Frame flag bits. `audit`: an exited frame sent so the cloud can check the edge's answer. */
export const FRAME_FLAGS = { audit: 0x01 } as const;
export const KNOWN_FLAGS_MASK = FRAME_FLAGS.audit;

export function checkFlags(flags: number): void {
  if ((flags & ~KNOWN_FLAGS_MASK) !== 0) {
    throw new WireError('BAD_FLAGS', 'flags', `reserved flags 0x${(flags & ~KNOWN_FLAGS_MASK).toString(16)} set`);
  }
}

export interface FrameLimits {
  /** Largest payload accepted (bytes). */
  maxPayloadBytes: number;
  /** Largest product of a features frame's shape. */
  maxSymbols: number;
}
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxPayloadBytes: 1 << 20,
  maxSymbols: 1 << 20,
});

export function resolveLimits(limits: Partial<FrameLimits> | undefined): FrameLimits {
  const out = { ...DEFAULT_FRAME_LIMITS, ...(limits ?? {}) };
  for (const key of ['maxPayloadBytes', 'maxSymbols'] as const) {
    const v = out[key];
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) {
      throw new WireError('BAD_LIMITS', key, `must be an integer 1..2^32-1, got ${String(v)}`);
    }
  }
  return out;
}

/** Gateway id byte allowed: [A-Za-z0-9._-]. */
export function isGatewayIdByte(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || // 0-9
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x2d // -
  );
}

export function checkGatewayIdLength(length: number): void {
  if (length < 1 || length > MAX_GATEWAY_ID_BYTES) {
    throw new WireError('BAD_GATEWAY_ID', 'gatewayId', `length ${length} is not 1..${MAX_GATEWAY_ID_BYTES}`);
  }
}

/** ndim is checked before the dims are read, so a bad ndim never makes us read 2*255 bytes. */
export function checkNdim(kind: FrameKind, ndim: number): void {
  if (kind === 'features' ? ndim < 1 || ndim > MAX_NDIM : ndim !== 0) {
    const allowed = kind === 'features' ? `1..${MAX_NDIM}` : '0';
    throw new WireError('BAD_SHAPE', 'shape', `${kind} frame has ndim ${ndim}, allowed ${allowed}`);
  }
}

export function checkDims(dims: readonly number[], limits: FrameLimits): void {
  let product = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    if (!Number.isInteger(d) || d < 1 || d > MAX_DIM) {
      throw new WireError('BAD_SHAPE', 'shape', `dim ${i} is ${String(d)}, allowed 1..${MAX_DIM}`);
    }
    product *= d; // may round above 2^53, but then it is far above any cap (<= 2^32)
  }
  if (product > limits.maxSymbols) {
    throw new WireError('OVER_CAP', 'shape', `${product} symbols > maxSymbols ${limits.maxSymbols}`);
  }
}

export function checkPayloadLength(length: number, limits: FrameLimits): void {
  if (length > limits.maxPayloadBytes) {
    throw new WireError('OVER_CAP', 'payloadLength', `${length} bytes > maxPayloadBytes ${limits.maxPayloadBytes}`);
  }
}
