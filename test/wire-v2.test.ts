import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Frame, WireError, decodeFrame, decodeFrameV2, encodeAnswerV2, encodeFeaturesV2, encodeFrame } from '../lib/wire';
import type { V2Case } from './vectors/wire-v2-cases';

const VECTORS = path.resolve(__dirname, '../../test/vectors');
const vectors = JSON.parse(fs.readFileSync(path.join(VECTORS, 'wire-v2-frames.json'), 'utf8'));
const ctx = vectors.context;
const cases: V2Case[] = vectors.cases;

test('every v2 golden vector decodes to its stated message, re-encodes to its bytes, or is refused with its stated code', () => {
  assert.ok(cases.length > 60);
  for (const c of cases) {
    const bytes = Buffer.from(c.hex, 'hex');
    if (c.expect === 'accept') {
      const m = decodeFrameV2(bytes, ctx);
      const s = c.message;
      if (s.kind === 'features') {
        assert.equal(m.kind, 'features', c.name);
        const f = (m as { frame: Frame }).frame;
        assert.deepEqual({ flags: f.flags ?? 0, bootId: f.bootId, seq: f.seq, rateLevel: f.rateLevel, modelId: f.modelId, timestampMs: f.timestampMs, shape: f.shape, payloadHex: Buffer.from(f.payload).toString('hex') },
          { flags: s.flags ?? 0, bootId: s.bootId, seq: s.seq, rateLevel: s.rateLevel, modelId: s.modelId, timestampMs: s.timestampMs, shape: s.shape, payloadHex: s.payloadHex }, c.name);
        assert.equal(f.gatewayId, ctx.gatewayId, 'the gateway comes from the context (the topic)');
        assert.equal(encodeFeaturesV2(f, ctx).toString('hex'), c.hex, c.name);
      } else {
        assert.ok(m.kind !== 'features');
        const a = m as Exclude<typeof m, { kind: 'features' }>;
        assert.deepEqual({ kind: a.kind, flags: a.flags ?? 0, bootId: a.bootId, seq: a.seq, echo: a.echo, answerHex: Buffer.from(a.answer).toString('hex'), json: !!a.json },
          { kind: s.kind, flags: s.flags ?? 0, bootId: s.bootId, seq: s.seq, echo: s.echo, answerHex: s.answerHex, json: !!s.json }, c.name);
        assert.equal(encodeAnswerV2(a, ctx).toString('hex'), c.hex, c.name);
      }
    } else {
      assert.throws(() => decodeFrameV2(bytes, ctx), (e: unknown) => {
        assert.ok(e instanceof WireError, `${c.name}: ${String(e)}`);
        if (c.code !== '*') assert.equal(e.code, c.code, `${c.name}: ${e.message}`);
        if (c.field !== '*') assert.equal(e.field, c.field, `${c.name}: ${e.message}`);
        return true;
      });
    }
  }
});

const v1Features = (over: Partial<Frame> = {}): Buffer => encodeFrame({
  kind: 'features', rateLevel: 1, modelId: ctx.models[1], gatewayId: ctx.gatewayId, bootId: ctx.bootId, seq: 1234,
  timestampMs: ctx.epochMs + 98_765, shape: [8, 4, 4], payload: Uint8Array.from([9, 8, 7, 6, 5]), ...over,
});

test('v1 → v2 → v1 gives back the very bytes, flags included, and v2 saves at least 25 B a frame', () => {
  for (const over of [{}, { flags: 1 }, { bootId: 99 }, { timestampMs: ctx.epochMs - 3 }, { seq: 0xffffffff }]) {
    const v1 = v1Features(over);
    const v2 = encodeFeaturesV2(decodeFrame(v1), ctx);
    const back = decodeFrameV2(v2, ctx);
    assert.equal(back.kind, 'features');
    assert.deepEqual(encodeFrame((back as { frame: Frame }).frame), v1);
    assert.ok(v2.length + 25 <= v1.length, `${v2.length} B v2 against ${v1.length} B v1`);
  }
});

test('a v2 frame read against another context fails its CRC: another gateway, boot, epoch or model list', () => {
  const v2 = encodeFeaturesV2(decodeFrame(v1Features()), ctx);
  for (const other of [{ gatewayId: 'gw-02' }, { bootId: 1 }, { epochMs: ctx.epochMs + 1 }, { models: [ctx.models[0], 'ffffffffffffffff'] }]) {
    assert.throws(() => decodeFrameV2(v2, { ...ctx, ...other }), (e: unknown) => e instanceof WireError && e.code === 'BAD_CRC', JSON.stringify(other));
  }
  const answer = encodeAnswerV2({ kind: 'ack', bootId: ctx.bootId, seq: 3, echo: 1, answer: new Uint8Array(0) }, ctx);
  assert.throws(() => decodeFrameV2(answer, { ...ctx, gatewayId: 'gw-02' }), /BAD_CRC/);
});

test('v2 refuses to write what it cannot carry: a frame of another gateway, a model not announced, a birth', () => {
  assert.throws(() => encodeFeaturesV2(decodeFrame(v1Features({ gatewayId: 'other' })), ctx), /BAD_GATEWAY_ID/);
  assert.throws(() => encodeFeaturesV2(decodeFrame(v1Features({ modelId: 'ffffffffffffffff' })), ctx), /BAD_MODEL_ID/);
  const birth = decodeFrame(encodeFrame({ kind: 'birth', rateLevel: 0, modelId: ctx.models[0], gatewayId: ctx.gatewayId, bootId: 1, seq: 0, timestampMs: 0, shape: [], body: { software: 'x' } }));
  assert.throws(() => encodeFeaturesV2(birth, ctx), /BAD_KIND/);
  assert.throws(() => encodeFeaturesV2(decodeFrame(v1Features({ flags: 1 })), ctx) && encodeAnswerV2({ kind: 'result', flags: 4, bootId: 1, seq: 1, echo: 0, answer: Uint8Array.of(1) }, ctx), /BAD_FLAGS/);
});

test('whatever the bytes, decodeFrameV2 returns a message or throws a WireError (mutated and cut valid frames, 20,000 tries)', () => {
  let seed = 17;
  const rand = (n: number) => { // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const valid = cases.filter((c) => c.expect === 'accept').map((c) => Buffer.from(c.hex, 'hex'));
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const original = valid[rand(valid.length)];
    const b = Buffer.from(original);
    for (let k = rand(4); k >= 0; k--) b[rand(b.length)] ^= 1 + rand(255);
    const bytes = rand(5) === 0 ? b.subarray(0, rand(b.length)) : b;
    try { decodeFrameV2(bytes, ctx); accepted++; } catch (e) { assert.ok(e instanceof WireError, `${bytes.toString('hex')}: ${String(e)}`); }
  }
  assert.ok(accepted < 200, `${accepted} damaged frames passed the CRC`);
});
