/**
 * Wire v2 vectors (docs/wire-format.md §5). As for v1, frames are assembled here byte by
 * byte (varints and the context CRC written out by hand, not with lib/wire's encoder), and
 * every verdict is stated here.
 */
import { crc32c } from '../../lib/wire';
import type { LinkContext } from '../../lib/wire';

export const V2_CONTEXT: LinkContext = {
  gatewayId: 'gw-01',
  bootId: 0x12345678,
  epochMs: 1732377600000,
  models: ['a1b2c3d4e5f60718', '0011223344556677'],
};

export interface V2FeaturesSpec { kind: 'features'; flags?: number; bootId: number; seq: number; rateLevel: number; modelId: string; timestampMs: number; shape: number[]; payloadHex: string }
export interface V2AnswerSpec { kind: 'result' | 'ack'; flags?: number; bootId: number; seq: number; echo: number; answerHex: string; json?: boolean }
export type V2Case = { name: string; hex: string } & (
  | { expect: 'accept'; message: V2FeaturesSpec | V2AnswerSpec }
  | { expect: 'reject'; code: string; field: string }
);

/** LEB128 by the book: 7 bits a byte, low first, high bit = more. */
function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b += 128;
    out.push(b);
  } while (v > 0);
  return out;
}
const zz = (v: number) => (v < 0 ? -2 * v - 1 : 2 * v);
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(v); return [...b]; };
const hexBytes = (h: string) => [...Buffer.from(h, 'hex')];

function contextOf(bootId: number, modelId?: string): number[] {
  const gw = [...Buffer.from(V2_CONTEXT.gatewayId, 'latin1')];
  return [gw.length, ...gw, ...u32(bootId), ...(modelId ? [...hexBytes(modelId), ...f64(V2_CONTEXT.epochMs)] : [])];
}

function seal(body: number[], context: number[]): string {
  return Buffer.from([...body, ...u32(crc32c(Uint8Array.from([...context, ...body])))]).toString('hex');
}

interface Parts { kindByte: number; flags: number; boot: number[]; seq: number[]; rest: number[] }

function featuresParts(s: V2FeaturesSpec): Parts {
  const own = s.bootId === V2_CONTEXT.bootId;
  return {
    kindByte: 1 | (own ? 0 : 0x10), flags: s.flags ?? 0, boot: own ? [] : u32(s.bootId), seq: leb(s.seq),
    rest: [s.rateLevel, ...leb(V2_CONTEXT.models.indexOf(s.modelId)), ...leb(zz(s.timestampMs - V2_CONTEXT.epochMs)), s.shape.length, ...s.shape.flatMap(leb), ...hexBytes(s.payloadHex)],
  };
}

function answerParts(s: V2AnswerSpec): Parts {
  const own = s.bootId === V2_CONTEXT.bootId;
  return {
    kindByte: (s.kind === 'result' ? 2 : 3) | (own ? 0 : 0x10) | (s.json ? 0x20 : 0), flags: s.flags ?? 0, boot: own ? [] : u32(s.bootId), seq: leb(s.seq),
    rest: [...u32(s.echo), ...hexBytes(s.answerHex)],
  };
}

const bodyOf = (p: Parts) => [0x53, 0x44, 2, p.kindByte, p.flags, ...p.boot, ...p.seq, ...p.rest];

/** featuresPayloadHex: real coded symbols of shape [2,4,4] (from the codec vectors). */
export function wireV2Cases(featuresPayloadHex: string): V2Case[] {
  const cases: V2Case[] = [];
  const features = (over: Partial<V2FeaturesSpec> = {}): V2FeaturesSpec => ({
    kind: 'features', bootId: V2_CONTEXT.bootId, seq: 42, rateLevel: 2, modelId: V2_CONTEXT.models[0],
    timestampMs: V2_CONTEXT.epochMs + 3_600_123, shape: [2, 4, 4], payloadHex: featuresPayloadHex, ...over,
  });
  const result = (over: Partial<V2AnswerSpec> = {}): V2AnswerSpec => ({
    kind: 'result', bootId: V2_CONTEXT.bootId, seq: 42, echo: 0xdeadbeef, answerHex: '03ffbf', ...over, // class 3 at 0.75
  });
  const hexOf = (s: V2FeaturesSpec | V2AnswerSpec) => {
    const parts = s.kind === 'features' ? featuresParts(s) : answerParts(s);
    return seal(bodyOf(parts), contextOf(s.bootId, s.kind === 'features' ? s.modelId : undefined));
  };
  const accept = (name: string, message: V2FeaturesSpec | V2AnswerSpec) => cases.push({ name: `accept/${name}`, hex: hexOf(message), expect: 'accept', message });
  const reject = (name: string, hex: string, code: string, field: string) => cases.push({ name: `reject/${name}`, hex, expect: 'reject', code, field });

  accept('features-3d', features());
  accept('features-second-model', features({ modelId: V2_CONTEXT.models[1] }));
  accept('features-audit-flag', features({ flags: 1 }));
  accept('features-other-boot', features({ bootId: 7 }));
  accept('features-before-epoch', features({ timestampMs: V2_CONTEXT.epochMs - 5000 }));
  accept('features-at-epoch-seq-0', features({ timestampMs: V2_CONTEXT.epochMs, seq: 0 }));
  accept('features-seq-max', features({ seq: 0xffffffff }));
  accept('features-dim-65535', features({ shape: [65535] }));
  accept('features-empty-payload', features({ payloadHex: '' }));
  accept('result-class', result());
  accept('result-json', result({ json: true, answerHex: Buffer.from('{"error":"rate level 9 does not exist"}').toString('hex') }));
  accept('result-audit-flag-other-boot', result({ flags: 1, bootId: 0xffffffff }));
  accept('ack', result({ kind: 'ack', answerHex: '' }));

  // Truncations: every cut of a features frame and of a result fails, none reads past the end.
  for (const s of [features(), result()]) {
    const full = hexOf(s);
    for (let cut = 0; cut < full.length / 2; cut++) {
      // Below 9 bytes (head + CRC) the length alone refuses it; past that, whichever check meets the cut ('*': any WireError).
      const short = cut < 9;
      cases.push({ name: `reject/truncated-${s.kind}-at-${cut}`, hex: full.slice(0, 2 * cut), expect: 'reject', code: short ? 'TRUNCATED' : '*', field: short ? 'frame' : '*' });
    }
  }
  const good = Buffer.from(hexOf(features()), 'hex');
  const edit = (at: number, value: number, reseal = true) => {
    const b = [...good.subarray(0, good.length - 4)];
    b[at] = value;
    return reseal ? seal(b, contextOf(V2_CONTEXT.bootId, V2_CONTEXT.models[0])) : Buffer.from([...b, ...good.subarray(good.length - 4)]).toString('hex');
  };
  reject('magic-SB', edit(1, 0x42), 'BAD_MAGIC', 'magic');
  reject('version-1', edit(2, 1), 'BAD_VERSION', 'version');
  reject('version-3', edit(2, 3), 'BAD_VERSION', 'version');
  reject('kind-birth', edit(3, 4), 'BAD_KIND', 'kind');
  reject('kind-bit-6', edit(3, 0x41), 'BAD_KIND', 'kind');
  reject('json-bit-on-features', edit(3, 0x21), 'BAD_KIND', 'kind');
  reject('flags-2', edit(4, 2), 'BAD_FLAGS', 'flags');
  reject('model-index-2-not-announced', edit(7, 2), 'BAD_MODEL_ID', 'model');
  const ndimAt = 8 + leb(zz(3_600_123)).length; // after seq (1 byte), rate, model, time
  reject('ndim-0', edit(ndimAt, 0), 'BAD_SHAPE', 'shape');
  reject('ndim-5', edit(ndimAt, 5), 'BAD_SHAPE', 'shape');
  reject('dim-0', edit(ndimAt + 1, 0), 'BAD_SHAPE', 'shape');
  reject('crc-bit-flip-payload', edit(good.length - 6, good[good.length - 6] ^ 0x10, false), 'BAD_CRC', 'crc');
  reject('crc-bit-flip-seq', edit(5, good[5] ^ 0x01, false), 'BAD_CRC', 'crc');
  reject('crc-without-context', seal([...good.subarray(0, good.length - 4)], []), 'BAD_CRC', 'crc');
  const seqLong = [...good.subarray(0, 5), 0xaa, 0x80, 0x00, ...good.subarray(6, good.length - 4)];
  reject('varint-redundant-zero', seal(seqLong, contextOf(V2_CONTEXT.bootId, V2_CONTEXT.models[0])), 'BAD_FIELD', 'seq');
  const seqHuge = [...good.subarray(0, 5), 0xff, 0xff, 0xff, 0xff, 0x1f, ...good.subarray(6, good.length - 4)];
  reject('seq-above-2^32', seal(seqHuge, contextOf(V2_CONTEXT.bootId, V2_CONTEXT.models[0])), 'BAD_FIELD', 'seq');

  const answer = (s: V2AnswerSpec) => hexOf(s);
  reject('ack-with-answer', answer(result({ kind: 'ack' })), 'BAD_PAYLOAD', 'answer');
  reject('result-empty', answer(result({ answerHex: '' })), 'BAD_PAYLOAD', 'answer');
  reject('result-json-not-object', answer(result({ json: true, answerHex: Buffer.from('[1]').toString('hex') })), 'BAD_PAYLOAD', 'payload');
  return cases;
}
