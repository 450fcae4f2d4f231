import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Frame, FrameInput, WireError, crc32c, decodeFrame, encodeFrame, readBirth, readDeath, readResult } from '../lib/wire';
import type { WireCase } from './vectors/wire-cases';

const VECTORS = path.resolve(__dirname, '../../test/vectors');
const cases: WireCase[] = JSON.parse(fs.readFileSync(path.join(VECTORS, 'wire-frames.json'), 'utf8')).cases;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function throwsWire(f: () => unknown, code: string, field?: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

const base: FrameInput = {
  kind: 'features',
  rateLevel: 1,
  modelId: '0123456789abcdef',
  gatewayId: 'gw-1',
  bootId: 7,
  seq: 9,
  timestampMs: 1_700_000_000_000,
  shape: [2, 4, 4],
  payload: Uint8Array.from([1, 2, 3]),
};

test('CRC-32C matches the RFC 3720 (iSCSI) check values', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('CRC-32C slicing-by-8 equals the bit-at-a-time definition for every length 0..100', () => {
  const bitwise = (b: Uint8Array) => {
    let c = -1;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = Uint8Array.from({ length: 110 }, (_, i) => (i * 151 + 7) & 0xff);
  for (let n = 0; n <= 100; n++) {
    const view = data.subarray(n % 7, (n % 7) + n); // unaligned views too
    assert.equal(crc32c(view), bitwise(view), `length ${n}`);
  }
});

test(`golden frame vectors (${cases.length})`, () => {
  assert.ok(cases.length >= 100);
  for (const c of cases) {
    const bytes = Buffer.from(c.hex, 'hex');
    if (c.expect === 'accept') {
      const { payloadHex, ...header } = c.frame;
      const frame = decodeFrame(bytes, c.limits);
      assert.deepEqual({ ...frame, payload: hex(frame.payload), body: undefined }, { ...header, payload: payloadHex, body: undefined }, c.name);
      assert.equal(frame.body === undefined, ['features', 'ack'].includes(frame.kind), c.name);
      assert.equal(encodeFrame({ ...header, payload: Buffer.from(payloadHex, 'hex') }, c.limits).toString('hex'), c.hex, c.name);
    } else {
      throwsWire(() => decodeFrame(bytes, c.limits), c.code, c.field);
    }
  }
});

test('every check has a vector', () => {
  const codes = new Set(cases.flatMap((c) => (c.expect === 'reject' ? [c.code] : [])));
  for (const code of ['TRUNCATED', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_KIND', 'BAD_FLAGS', 'BAD_TIMESTAMP', 'BAD_GATEWAY_ID', 'BAD_SHAPE', 'OVER_CAP', 'BAD_PAYLOAD', 'TRAILING_BYTES', 'BAD_CRC']) {
    assert.ok(codes.has(code), code);
  }
});

test('decodeFrame refuses non-bytes and bad limits with WireError', () => {
  for (const bad of [undefined, null, 'SD', 42, [0x53, 0x44], new ArrayBuffer(8), { length: 3 }]) {
    throwsWire(() => decodeFrame(bad as never), 'BAD_INPUT');
  }
  const ok = encodeFrame(base);
  for (const limits of [{ maxPayloadBytes: 0 }, { maxSymbols: -1 }, { maxSymbols: 1.5 }, { maxPayloadBytes: 2 ** 32 }, { maxSymbols: NaN }]) {
    throwsWire(() => decodeFrame(ok, limits), 'BAD_LIMITS');
  }
});

test('decodeFrame reads views with an offset and returns a copy of the payload', () => {
  const frame = encodeFrame(base);
  const big = new Uint8Array(frame.length + 10);
  big.set(frame, 5);
  const view = big.subarray(5, 5 + frame.length);
  const decoded = decodeFrame(view);
  assert.deepEqual(Array.from(decoded.payload), [1, 2, 3]);
  view.fill(0);
  assert.deepEqual(Array.from(decoded.payload), [1, 2, 3]);
  assert.equal(decoded.payload.buffer === big.buffer, false);
});

test('encodeFrame validates every field with the decoder rules', () => {
  const bad: Array<[Partial<FrameInput>, string, string]> = [
    [{ kind: 'foo' as never }, 'BAD_KIND', 'kind'],
    [{ kind: 'toString' as never }, 'BAD_KIND', 'kind'],
    [{ rateLevel: 256 }, 'BAD_FIELD', 'rateLevel'],
    [{ rateLevel: -1 }, 'BAD_FIELD', 'rateLevel'],
    [{ rateLevel: 1.5 }, 'BAD_FIELD', 'rateLevel'],
    [{ bootId: 2 ** 32 }, 'BAD_FIELD', 'bootId'],
    [{ seq: NaN }, 'BAD_FIELD', 'seq'],
    [{ timestampMs: -1 }, 'BAD_TIMESTAMP', 'timestampMs'],
    [{ timestampMs: 2 ** 53 }, 'BAD_TIMESTAMP', 'timestampMs'],
    [{ timestampMs: 1.5 }, 'BAD_TIMESTAMP', 'timestampMs'],
    [{ modelId: 'xyz' }, 'BAD_MODEL_ID', 'modelId'],
    [{ modelId: '0123456789abcde' }, 'BAD_MODEL_ID', 'modelId'],
    [{ modelId: '0123456789abcdef0' }, 'BAD_MODEL_ID', 'modelId'],
    [{ gatewayId: '' }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ gatewayId: 'g'.repeat(65) }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ gatewayId: 'a/b' }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ gatewayId: 'caf\u00e9' }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ gatewayId: 'a\u0100' }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ gatewayId: 5 as never }, 'BAD_GATEWAY_ID', 'gatewayId'],
    [{ shape: [] }, 'BAD_SHAPE', 'shape'],
    [{ shape: [0] }, 'BAD_SHAPE', 'shape'],
    [{ shape: [70000] }, 'BAD_SHAPE', 'shape'],
    [{ shape: [1, 1, 1, 1, 1] }, 'BAD_SHAPE', 'shape'],
    [{ shape: 'x' as never }, 'BAD_SHAPE', 'shape'],
    [{ shape: [2048, 1024] }, 'OVER_CAP', 'shape'],
    [{ kind: 'ack' }, 'BAD_SHAPE', 'shape'],
    [{ kind: 'ack', shape: [] }, 'BAD_PAYLOAD', 'payload'],
    [{ kind: 'result', shape: [], payload: Buffer.from('not json') }, 'BAD_PAYLOAD', 'payload'],
    [{ payload: [1, 2] as never }, 'BAD_PAYLOAD', 'payload'],
    [{ payload: undefined, body: { a: 1 } }, 'BAD_PAYLOAD', 'body'],
    [{ payload: new Uint8Array((1 << 20) + 1) }, 'OVER_CAP', 'payloadLength'],
  ];
  for (const [over, code, field] of bad) throwsWire(() => encodeFrame({ ...base, ...over }), code, field);
  throwsWire(() => encodeFrame({ ...base, payload: new Uint8Array(9) }, { maxPayloadBytes: 8 }), 'OVER_CAP', 'payloadLength');
});

test('JSON kinds: body in, body out, and typed readers', () => {
  const header = { ...base, shape: [], payload: undefined };
  const result = decodeFrame(encodeFrame({ ...header, kind: 'result', body: { index: 2, label: 'Pullover', confidence: 0.5, source: 'edge', latencyMs: 3 } }));
  assert.deepEqual(readResult(result), { index: 2, label: 'Pullover', confidence: 0.5, source: 'edge', latencyMs: 3 });
  const birth = decodeFrame(encodeFrame({ ...header, kind: 'birth', body: { software: 'x@1', rates: [0, 1] } }));
  assert.equal(readBirth(birth).software, 'x@1');
  const death = decodeFrame(encodeFrame({ ...header, kind: 'death', body: { reason: 'will' } }));
  assert.equal(readDeath(death).reason, 'will');
  throwsWire(() => readResult(birth), 'BAD_KIND', 'kind');
  const withBody = (body: object): Frame => decodeFrame(encodeFrame({ ...header, kind: 'result', body: body as never }));
  const good = { index: 1, label: 'a', confidence: 1, source: 'cloud' };
  for (const [over, field] of [
    [{ index: -1 }, 'payload.index'],
    [{ index: 1.5 }, 'payload.index'],
    [{ label: 3 }, 'payload.label'],
    [{ confidence: 1.01 }, 'payload.confidence'],
    [{ confidence: '0.5' }, 'payload.confidence'],
    [{ source: 'fog' }, 'payload.source'],
    [{ latencyMs: -2 }, 'payload.latencyMs'],
  ] as const) {
    throwsWire(() => readResult(withBody({ ...good, ...over })), 'BAD_PAYLOAD', field);
  }
  throwsWire(() => readBirth(decodeFrame(encodeFrame({ ...header, kind: 'birth', body: { software: 'x', rates: [256] } }))), 'BAD_PAYLOAD', 'payload.rates');
  throwsWire(() => readDeath(decodeFrame(encodeFrame({ ...header, kind: 'death', body: {} }))), 'BAD_PAYLOAD', 'payload.reason');
});

test('a decoded frame re-encodes to the same bytes', () => {
  for (const c of cases) {
    if (c.expect !== 'accept') continue;
    const bytes = Buffer.from(c.hex, 'hex');
    assert.equal(encodeFrame(decodeFrame(bytes, c.limits), c.limits).toString('hex'), c.hex, c.name);
  }
});
