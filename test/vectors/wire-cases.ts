/**
 * Wire-frame vectors. Frames are assembled here byte by byte (not with encodeFrame), and
 * every expected verdict is stated here, so the vectors check lib/wire rather than echo it.
 */
import { crc32c } from '../../lib/wire';
import type { FrameKind, FrameLimits } from '../../lib/wire';

export interface FrameSpec {
  kind: FrameKind;
  rateLevel: number;
  modelId: string;
  gatewayId: string;
  bootId: number;
  seq: number;
  timestampMs: number;
  shape: number[];
  payloadHex: string;
  /** Absent means 0 (the decoder then leaves the field out). */
  flags?: number;
}
export type WireCase = { name: string; hex: string; limits?: Partial<FrameLimits> } & (
  | { expect: 'accept'; frame: FrameSpec }
  | { expect: 'reject'; code: string; field: string }
);

const KIND: Record<FrameKind, number> = { features: 1, result: 2, ack: 3, birth: 4, death: 5 };

/** Every header field as raw numbers, so a case can set any of them to anything. */
interface Raw {
  magic: number[];
  version: number;
  kind: number;
  flags: number;
  rateLevel: number;
  modelId: number[];
  bootId: number;
  seq: number;
  tsLow: number;
  tsHigh: number;
  gatewayLength: number;
  gateway: number[];
  ndim: number;
  dims: number[];
  payloadLength: number;
  payload: number[];
  crc: 'castagnoli' | 'ieee' | 'big-endian' | 'header-only';
  extra: number[];
}

function toRaw(f: FrameSpec): Raw {
  const gateway = Array.from(f.gatewayId, (c) => c.charCodeAt(0));
  const payload = Array.from(Buffer.from(f.payloadHex, 'hex'));
  return {
    magic: [0x53, 0x44],
    version: 1,
    kind: KIND[f.kind],
    flags: f.flags ?? 0,
    rateLevel: f.rateLevel,
    modelId: Array.from(Buffer.from(f.modelId, 'hex')),
    bootId: f.bootId,
    seq: f.seq,
    tsLow: f.timestampMs % 2 ** 32,
    tsHigh: Math.floor(f.timestampMs / 2 ** 32),
    gatewayLength: gateway.length,
    gateway,
    ndim: f.shape.length,
    dims: f.shape,
    payloadLength: payload.length,
    payload,
    crc: 'castagnoli',
    extra: [],
  };
}

/** [field name, bytes] in wire order: the same names decodeFrame reports. */
function fields(r: Raw): Array<[string, Buffer]> {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  const dims = Buffer.alloc(2 * r.dims.length);
  r.dims.forEach((d, i) => dims.writeUInt16LE(d, 2 * i));
  return [
    ['magic', Buffer.from(r.magic)],
    ['version', Buffer.from([r.version])],
    ['kind', Buffer.from([r.kind])],
    ['flags', Buffer.from([r.flags])],
    ['rateLevel', Buffer.from([r.rateLevel])],
    ['modelId', Buffer.from(r.modelId)],
    ['bootId', u32(r.bootId)],
    ['seq', u32(r.seq)],
    ['timestampMs', Buffer.concat([u32(r.tsLow), u32(r.tsHigh)])],
    ['gatewayIdLength', Buffer.from([r.gatewayLength])],
    ['gatewayId', Buffer.from(r.gateway)],
    ['ndim', Buffer.from([r.ndim])],
    ['shape', dims],
    ['payloadLength', u32(r.payloadLength)],
    ['payload', Buffer.from(r.payload)],
  ];
}

function crcOf(r: Raw, body: Buffer): Buffer {
  const out = Buffer.alloc(4);
  if (r.crc === 'castagnoli') out.writeUInt32LE(crc32c(body));
  else if (r.crc === 'big-endian') out.writeUInt32BE(crc32c(body));
  else if (r.crc === 'header-only') out.writeUInt32LE(crc32c(body.subarray(0, body.length - r.payload.length)));
  else out.writeUInt32LE(crc32Ieee(body));
  return out;
}

function crc32Ieee(bytes: Uint8Array): number {
  let crc = -1;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function assemble(r: Raw): Buffer {
  const body = Buffer.concat(fields(r).map(([, b]) => b));
  return Buffer.concat([body, crcOf(r, body), Buffer.from(r.extra)]);
}

const hexOf = (r: Raw) => assemble(r).toString('hex');

const BASE: Omit<FrameSpec, 'kind' | 'shape' | 'payloadHex'> = {
  rateLevel: 2,
  modelId: 'a1b2c3d4e5f60718',
  gatewayId: 'gw-01',
  bootId: 0x12345678,
  seq: 42,
  timestampMs: 1732377600123,
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('hex');
const utf8Hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/** featuresPayloadHex: real coded symbols of shape [2,4,4] (from the codec vectors). */
export function wireCases(featuresPayloadHex: string): WireCase[] {
  const cases: WireCase[] = [];
  const spec = (kind: FrameKind, over: Partial<FrameSpec> = {}): FrameSpec => ({
    ...BASE,
    kind,
    shape: kind === 'features' ? [2, 4, 4] : [],
    payloadHex: kind === 'features' ? featuresPayloadHex : kind === 'ack' ? '' : json({ reason: 'will' }),
    ...over,
  });
  const accept = (name: string, frame: FrameSpec, limits?: Partial<FrameLimits>) =>
    cases.push({ name: `accept/${name}`, hex: hexOf(toRaw(frame)), expect: 'accept', frame, ...(limits ? { limits } : {}) });
  const reject = (name: string, raw: Raw, code: string, field: string, limits?: Partial<FrameLimits>) =>
    cases.push({ name: `reject/${name}`, hex: hexOf(raw), expect: 'reject', code, field, ...(limits ? { limits } : {}) });
  const rawWith = (over: Partial<Raw>, base: FrameSpec = spec('features')): Raw => ({ ...toRaw(base), ...over });

  // Accepted frames: each kind, and every field at its boundaries.
  const features = spec('features');
  accept('features-3d', features);
  accept('features-1d', spec('features', { shape: [32] }));
  accept('features-2d', spec('features', { shape: [2, 16] }));
  accept('features-4d', spec('features', { shape: [2, 2, 2, 4] }));
  accept('features-empty-payload', spec('features', { payloadHex: '' }));
  accept('features-dim-65535', spec('features', { shape: [65535] }));
  accept('features-shape-at-default-cap', spec('features', { shape: [16, 256, 256] }));
  accept('features-shape-at-custom-cap', features, { maxSymbols: 32 });
  accept('payload-at-custom-cap', features, { maxPayloadBytes: featuresPayloadHex.length / 2 });
  accept('result', spec('result', { payloadHex: json({ index: 3, label: 'Dress', confidence: 0.875, source: 'cloud', latencyMs: 41.5 }) }));
  accept('result-utf8-label', spec('result', { payloadHex: json({ index: 0, label: 'T-shirt/top – ✓', confidence: 1, source: 'edge' }) }));
  accept('ack', spec('ack'));
  accept('birth', spec('birth', { payloadHex: json({ software: 'node-red-contrib-split-dnn@0.1.0', rates: [0, 1, 2] }) }));
  accept('death', spec('death'));
  accept('death-empty-object', spec('death', { payloadHex: json({}) }));
  accept('json-with-whitespace', spec('result', { payloadHex: utf8Hex(' {\n "index" : 1 } ') }));
  accept('rate-level-0', spec('features', { rateLevel: 0 }));
  accept('rate-level-255', spec('features', { rateLevel: 255 }));
  accept('boot-seq-0', spec('ack', { bootId: 0, seq: 0 }));
  accept('boot-seq-max', spec('ack', { bootId: 0xffffffff, seq: 0xffffffff }));
  accept('timestamp-0', spec('ack', { timestampMs: 0 }));
  accept('timestamp-2^32', spec('ack', { timestampMs: 2 ** 32 }));
  accept('timestamp-max-safe', spec('ack', { timestampMs: Number.MAX_SAFE_INTEGER }));
  accept('gateway-1-char', spec('ack', { gatewayId: 'a' }));
  accept('gateway-64-chars', spec('ack', { gatewayId: 'g'.repeat(64) }));
  accept('gateway-charset-a', spec('ack', { gatewayId: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._' }));
  accept('gateway-charset-b', spec('ack', { gatewayId: '-.._-' }));
  accept('model-id-zero', spec('ack', { modelId: '0000000000000000' }));
  accept('model-id-ff', spec('ack', { modelId: 'ffffffffffffffff' }));

  // Truncation at every offset of a features frame, and at the tail fields of an ack.
  const truncations = (name: string, raw: Raw) => {
    const full = assemble(raw);
    const layout = [...fields(raw).map(([n, b]) => [n, b.length] as const), ['crc', 4] as const];
    for (let cut = 0; cut < full.length; cut++) {
      let start = 0;
      const field = layout.find(([, size]) => (start += size) > cut)![0];
      cases.push({ name: `reject/truncated-${name}-at-${cut}`, hex: full.subarray(0, cut).toString('hex'), expect: 'reject', code: 'TRUNCATED', field });
    }
  };
  truncations('features', toRaw(features));
  truncations('ack', toRaw(spec('ack', { gatewayId: 'g' })));

  const f = toRaw(features);
  reject('magic-SE', rawWith({ magic: [0x53, 0x45] }), 'BAD_MAGIC', 'magic');
  reject('magic-DS', rawWith({ magic: [0x44, 0x53] }), 'BAD_MAGIC', 'magic');
  reject('magic-zero', rawWith({ magic: [0, 0] }), 'BAD_MAGIC', 'magic');
  reject('magic-http', { ...f, magic: [0x47, 0x45] }, 'BAD_MAGIC', 'magic');
  for (const v of [0, 2, 255]) reject(`version-${v}`, rawWith({ version: v }), 'BAD_VERSION', 'version');
  for (const k of [0, 6, 255]) reject(`kind-${k}`, rawWith({ kind: k }), 'BAD_KIND', 'kind');
  accept('features-audit-flag', spec('features', { flags: 1 }));
  for (const fl of [2, 0x80, 0x81]) reject(`flags-${fl}`, rawWith({ flags: fl }), 'BAD_FLAGS', 'flags');
  reject('timestamp-2^53', rawWith({ tsLow: 0, tsHigh: 0x200000 }), 'BAD_TIMESTAMP', 'timestampMs');
  reject('timestamp-2^64-1', rawWith({ tsLow: 0xffffffff, tsHigh: 0xffffffff }), 'BAD_TIMESTAMP', 'timestampMs');

  reject('gateway-length-0', rawWith({ gatewayLength: 0, gateway: [] }), 'BAD_GATEWAY_ID', 'gatewayId');
  reject('gateway-length-65', rawWith({ gatewayLength: 65, gateway: Array(65).fill(0x67) }), 'BAD_GATEWAY_ID', 'gatewayId');
  reject('gateway-length-255', rawWith({ gatewayLength: 255, gateway: [0x67] }), 'BAD_GATEWAY_ID', 'gatewayId');
  for (const [label, byte] of [['space', 0x20], ['slash', 0x2f], ['plus', 0x2b], ['hash', 0x23], ['dollar', 0x24], ['nul', 0], ['del', 0x7f], ['utf8-lead', 0xc3], ['colon', 0x3a], ['at', 0x40]] as const) {
    reject(`gateway-char-${label}`, rawWith({ gateway: [0x67, byte, 0x77] , gatewayLength: 3 }), 'BAD_GATEWAY_ID', 'gatewayId');
  }

  reject('features-ndim-0', rawWith({ ndim: 0, dims: [] }), 'BAD_SHAPE', 'shape');
  reject('features-ndim-5', rawWith({ ndim: 5, dims: [1, 2, 2, 2, 4] }), 'BAD_SHAPE', 'shape');
  reject('features-ndim-255', rawWith({ ndim: 255, dims: [2, 4, 4] }), 'BAD_SHAPE', 'shape');
  reject('features-dim-0-first', rawWith({ dims: [0, 4, 4] }), 'BAD_SHAPE', 'shape');
  reject('features-dim-0-last', rawWith({ dims: [2, 4, 0] }), 'BAD_SHAPE', 'shape');
  for (const kind of ['result', 'ack', 'birth', 'death'] as const) {
    reject(`${kind}-with-shape`, rawWith({ ndim: 1, dims: [4] }, spec(kind)), 'BAD_SHAPE', 'shape');
  }
  reject('shape-over-default-cap', rawWith({ dims: [1025, 1024] , ndim: 2 }), 'OVER_CAP', 'shape');
  reject('shape-65535^4', rawWith({ dims: [65535, 65535, 65535, 65535], ndim: 4 }), 'OVER_CAP', 'shape');
  reject('shape-over-custom-cap', f, 'OVER_CAP', 'shape', { maxSymbols: 31 });

  // Lengths above the cap are refused before the bytes are looked for (no allocation).
  reject('payload-length-cap+1-absent', rawWith({ payloadLength: (1 << 20) + 1, payload: [] }), 'OVER_CAP', 'payloadLength');
  reject('payload-length-2^32-1', rawWith({ payloadLength: 0xffffffff, payload: [1, 2, 3] }), 'OVER_CAP', 'payloadLength');
  reject('payload-over-custom-cap', f, 'OVER_CAP', 'payloadLength', { maxPayloadBytes: f.payload.length - 1 });
  const short = assemble(rawWith({ payloadLength: 100 }));
  cases.push({ name: 'reject/payload-length-beyond-bytes', hex: short.toString('hex'), expect: 'reject', code: 'TRUNCATED', field: 'payload' });

  reject('trailing-1-byte', rawWith({ extra: [0] }), 'TRAILING_BYTES', 'frame');
  reject('trailing-1000-bytes', rawWith({ extra: Array(1000).fill(0xab) }), 'TRAILING_BYTES', 'frame');
  cases.push({ name: 'reject/two-frames-concatenated', hex: hexOf(f) + hexOf(f), expect: 'reject', code: 'TRAILING_BYTES', field: 'frame' });

  const good = assemble(f);
  const crcAt = good.length - 4;
  const flipped = (at: number, mask: number) => {
    const b = Buffer.from(good);
    b[at] ^= mask;
    return b.toString('hex');
  };
  for (let i = 0; i < 4; i++) cases.push({ name: `reject/crc-byte-${i}-flipped`, hex: flipped(crcAt + i, 0x01 << i), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  cases.push({ name: 'reject/bit-flip-rate-level', hex: flipped(5, 0x01), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  cases.push({ name: 'reject/bit-flip-model-id', hex: flipped(9, 0x80), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  cases.push({ name: 'reject/bit-flip-seq', hex: flipped(18, 0x04), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  cases.push({ name: 'reject/bit-flip-gateway-char', hex: flipped(31, 0x01), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  cases.push({ name: 'reject/bit-flip-payload', hex: flipped(crcAt - 2, 0x10), expect: 'reject', code: 'BAD_CRC', field: 'crc' });
  reject('crc-ieee-instead-of-castagnoli', rawWith({ crc: 'ieee' }), 'BAD_CRC', 'crc');
  reject('crc-big-endian', rawWith({ crc: 'big-endian' }), 'BAD_CRC', 'crc');
  reject('crc-over-header-only', rawWith({ crc: 'header-only' }), 'BAD_CRC', 'crc');

  const withPayload = (kind: FrameKind, bytes: number[]) => rawWith({ payload: bytes, payloadLength: bytes.length }, spec(kind));
  const text = (s: string) => Array.from(Buffer.from(s, 'utf8'));
  reject('ack-with-payload', withPayload('ack', [0]), 'BAD_PAYLOAD', 'payload');
  reject('result-empty-payload', withPayload('result', []), 'BAD_PAYLOAD', 'payload');
  reject('result-invalid-utf8', withPayload('result', [0x7b, 0xff, 0x7d]), 'BAD_PAYLOAD', 'payload');
  reject('result-overlong-utf8', withPayload('result', [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]), 'BAD_PAYLOAD', 'payload');
  reject('result-utf8-bom', withPayload('result', [0xef, 0xbb, 0xbf, ...text('{}')]), 'BAD_PAYLOAD', 'payload');
  reject('result-json-array', withPayload('result', text('[1,2]')), 'BAD_PAYLOAD', 'payload');
  reject('result-json-null', withPayload('result', text('null')), 'BAD_PAYLOAD', 'payload');
  reject('result-json-number', withPayload('result', text('42')), 'BAD_PAYLOAD', 'payload');
  reject('result-json-string', withPayload('result', text('"x"')), 'BAD_PAYLOAD', 'payload');
  reject('result-json-truncated', withPayload('result', text('{"index":')), 'BAD_PAYLOAD', 'payload');
  reject('birth-json-true', withPayload('birth', text('true')), 'BAD_PAYLOAD', 'payload');
  reject('death-two-objects', withPayload('death', text('{}{}')), 'BAD_PAYLOAD', 'payload');
  return cases;
}
