// Batches (docs/wire-format.md §4): several frames in one MQTT message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { WireError, decodeBatch, decodeFrame, encodeBatch, encodeFrame, framesOf, isBatch } from '../lib/wire';

const frame = (seq: number, payload = Buffer.from([seq & 0xff, 1, 2, 3, 4])) => encodeFrame({
  kind: 'features', rateLevel: 0, modelId: '0123456789abcdef', gatewayId: 'gw-1', bootId: 7, seq, timestampMs: 1_700_000_000_000 + seq, shape: [4, 2, 2], payload,
});
const refused = (bytes: Uint8Array, code: string, field: string, limits?: { maxBodyBytes: number }) =>
  assert.throws(() => decodeBatch(bytes, limits), (e: unknown) => e instanceof WireError && e.code === code && e.field === field, `${code} at ${field}`);

test('a batch gives back exactly the frames put in, in order, deflated or not', () => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 40 }),
    fc.constantFrom('auto', 'always', 'never'),
    (frames, mode) => {
      const out = decodeBatch(encodeBatch(frames, mode as 'auto'));
      assert.deepEqual(out.map((b) => Buffer.from(b).toString('hex')), frames.map((b) => Buffer.from(b).toString('hex')));
    }), { numRuns: 300 });
});

test('the layout is the documented one: "SB", version 1, flags, count u16 LE, varint lengths', () => {
  const a = Buffer.from([1, 2, 3]);
  const b = Buffer.alloc(200, 9); // a length of 200 takes two varint bytes: 0xc8 0x01
  const bytes = encodeBatch([a, b], 'never');
  assert.equal(bytes.subarray(0, 10).toString('hex'), '534201000200' + '03010203');
  assert.equal(bytes.subarray(10, 12).toString('hex'), 'c801');
  assert.equal(bytes.length, 6 + 1 + 3 + 2 + 200);
  // deflated: flag bit 0, and the body is a raw DEFLATE stream of the same bytes
  const packed = encodeBatch([a, b], 'always');
  assert.equal(packed[3], 1);
  assert.deepEqual(zlib.inflateRawSync(packed.subarray(6)), bytes.subarray(6));
});

test('auto deflates only when that is smaller; frames of one gateway shrink to about a third', () => {
  const noise = [Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 151 + 7) % 256))];
  assert.equal(encodeBatch(noise)[3], 0, 'incompressible: sent as is');
  for (const frames of [noise, [frame(1)], [frame(1), frame(2)]]) {
    const auto = encodeBatch(frames).length;
    assert.equal(auto, Math.min(encodeBatch(frames, 'never').length, encodeBatch(frames, 'always').length));
  }
  const frames = Array.from({ length: 16 }, (_, i) => frame(100 + i));
  const raw = frames.reduce((n, f) => n + f.length, 0);
  const packed = encodeBatch(frames);
  assert.equal(packed[3], 1);
  assert.ok(packed.length < raw * 0.5, `${packed.length} B for ${raw} B of frames`);
  assert.deepEqual(decodeBatch(packed).map((f) => decodeFrame(f).seq), frames.map((_, i) => 100 + i));
});

test('framesOf: a single frame is its own list; isBatch tells the two apart by the magic', () => {
  const f = frame(5);
  assert.equal(isBatch(f), false);
  assert.deepEqual(framesOf(f), [f]);
  const b = encodeBatch([f, frame(6)]);
  assert.equal(isBatch(b), true);
  assert.deepEqual(framesOf(b).map((x) => decodeFrame(x).seq), [5, 6]);
});

test('malformed batches are refused with a code and field, never half read', () => {
  const good = encodeBatch([frame(1), frame(2)], 'never');
  refused(good.subarray(0, 5), 'TRUNCATED', 'batch.header');
  refused(Buffer.from('SD\x01\x00\x01\x00', 'latin1'), 'BAD_MAGIC', 'batch.magic');
  refused(Buffer.concat([Buffer.from([0x53, 0x42, 2]), good.subarray(3)]), 'BAD_VERSION', 'batch.version');
  refused(Buffer.concat([good.subarray(0, 3), Buffer.from([0x82]), good.subarray(4)]), 'BAD_FLAGS', 'batch.flags');
  refused(Buffer.from([0x53, 0x42, 1, 0, 0, 0]), 'BAD_FIELD', 'batch.count');
  refused(good.subarray(0, good.length - 1), 'TRUNCATED', 'batch.frame');
  refused(Buffer.from([0x53, 0x42, 1, 0, 1, 0, 0x80]), 'TRUNCATED', 'batch.length');
  refused(Buffer.from([0x53, 0x42, 1, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x7f]), 'OVER_CAP', 'batch.length');
  refused(Buffer.concat([good, Buffer.from([0])]), 'TRAILING_BYTES', 'batch');
  // a count above the frames present
  const more = Buffer.from(good); more.writeUInt16LE(3, 4);
  refused(more, 'TRUNCATED', 'batch.length');
  refused(Buffer.from([0x53, 0x42, 1, 1, 1, 0, 0xde, 0xad, 0xbe, 0xef]), 'BAD_PAYLOAD', 'batch.body');
  // an inflation bomb stops at the cap instead of filling memory
  const bomb = Buffer.concat([Buffer.from([0x53, 0x42, 1, 1, 1, 0]), zlib.deflateRawSync(Buffer.alloc(1 << 20))]);
  assert.ok(bomb.length < 2000);
  refused(bomb, 'OVER_CAP', 'batch.body', { maxBodyBytes: 64 * 1024 });
  refused(good, 'OVER_CAP', 'batch.body', { maxBodyBytes: 10 });
});

test('random bytes and mutated batches only ever throw WireError', () => {
  const seed = encodeBatch([frame(1), frame(2), frame(3)]);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(seed.length - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(seed.length), (edits, cut) => {
    const bytes = Buffer.from(seed);
    for (const [at, v] of edits) bytes[at] = v;
    try { decodeBatch(bytes.subarray(0, Math.max(cut, 1))); } catch (e) { if (!(e instanceof WireError)) throw e; }
  }), { numRuns: 2000 });
});

test('encodeBatch refuses an empty list or a non-buffer', () => {
  assert.throws(() => encodeBatch([]), /BAD_FIELD at batch.count/);
  assert.throws(() => encodeBatch(['x' as unknown as Uint8Array]), /BAD_INPUT at batch.frame/);
});
