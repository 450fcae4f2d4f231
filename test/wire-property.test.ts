import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_KINDS, FrameInput, WireError, decodeFrame, encodeFrame } from '../lib/wire';

const gatewayChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-');
const header = fc.record({
  rateLevel: fc.integer({ min: 0, max: 255 }),
  modelId: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
  gatewayId: fc.array(gatewayChar, { minLength: 1, maxLength: 64 }).map((a) => a.join('')),
  bootId: fc.nat({ max: 0xffffffff }),
  seq: fc.nat({ max: 0xffffffff }),
  timestampMs: fc.maxSafeNat(),
});
const validFrame: fc.Arbitrary<FrameInput> = fc.oneof(
  fc.record({
    h: header,
    shape: fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 4 }),
    payload: fc.uint8Array({ maxLength: 200 }),
  }).map(({ h, shape, payload }) => ({ ...h, kind: 'features' as const, shape, payload })),
  fc.record({ h: header, kind: fc.constantFrom('result', 'birth', 'death'), body: fc.dictionary(fc.string(), fc.jsonValue()) })
    .map(({ h, kind, body }) => ({ ...h, kind: kind as 'result', shape: [], body })),
  header.map((h) => ({ ...h, kind: 'ack' as const, shape: [] })),
);

const isWireError = (f: () => unknown) => {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof WireError) return true;
    throw e;
  }
};

test('encode then decode gives the frame back, and re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(validFrame, (input) => {
      const bytes = encodeFrame(input);
      const frame = decodeFrame(bytes);
      assert.ok(FRAME_KINDS.includes(frame.kind));
      for (const key of ['kind', 'rateLevel', 'modelId', 'gatewayId', 'bootId', 'seq', 'timestampMs'] as const) assert.equal(frame[key], input[key]);
      assert.deepEqual(frame.shape, input.shape);
      if (input.body) assert.deepEqual(frame.body, JSON.parse(JSON.stringify(input.body)));
      assert.ok(encodeFrame(frame).equals(bytes));
    }),
    { numRuns: 500 },
  );
});

test('every single-bit flip is rejected (CRC-32C catches all of them)', () => {
  fc.assert(
    fc.property(validFrame, fc.nat(), fc.integer({ min: 0, max: 7 }), (input, at, bit) => {
      const bytes = encodeFrame(input);
      bytes[at % bytes.length] ^= 1 << bit;
      assert.ok(isWireError(() => decodeFrame(bytes)));
    }),
    { numRuns: 2000 },
  );
});

test('every truncation is rejected as TRUNCATED', () => {
  fc.assert(
    fc.property(validFrame, fc.nat(), (input, cut) => {
      const bytes = encodeFrame(input);
      const short = bytes.subarray(0, cut % bytes.length);
      assert.throws(() => decodeFrame(short), (e: unknown) => e instanceof WireError && e.code === 'TRUNCATED');
    }),
    { numRuns: 1000 },
  );
});

test('arbitrary bytes never raise anything but WireError', () => {
  const prefixed = fc.uint8Array({ maxLength: 120 }).map((b) => Uint8Array.from([0x53, 0x44, 1, ...b]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), prefixed), (bytes) => {
      try {
        decodeFrame(bytes);
      } catch (e) {
        assert.ok(e instanceof WireError, String(e));
      }
    }),
    { numRuns: 5000 },
  );
});
