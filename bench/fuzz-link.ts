/**
 * Fuzzes a running link, not the decoders: a cloud link and an honest gateway's edge link
 * on an in-process broker, and peers that send sequences of valid frames whose fields are
 * hostile (seqs anywhere in u32, another gateway's id, boot and seqs, another model,
 * batches up to and past the cap, made-up gateways by the thousand, answers that echo
 * almost everything). Every frame must be counted once as what it is, the honest gateway
 * must get exactly its own answers, per-gateway state must stay bounded and the event loop
 * free. `node dist/bench/fuzz-link.js --messages N --seed S` prints a JSON report.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as mqtt from 'mqtt';
import { startEmbeddedBroker } from '../lib/broker/embedded';
import { CloudLink } from '../lib/link/cloud-link';
import { EdgeLink } from '../lib/link/edge-link';
import { topics } from '../lib/link/topics';
import { MAX_BATCH_FRAMES, decodeFrame, encodeBatch, encodeFrame, FrameInput } from '../lib/wire';
import { prng } from './fuzz';

const MODEL = '00112233aabbccdd';
const OTHER_MODEL = 'ffeeddccbbaa9988';
const HONEST = 'gw-honest';
const HONEST_BOOT = 4242;
/** Birth/death states the cloud keeps (small here, so the fuzz runs into it). */
export const FUZZ_MAX_GATEWAYS = 64;
const SEQS = [0, 1, 2, 0x7fff, 0x10000, 0x1ffff, 0x20001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export interface LinkFuzzReport {
  ok: boolean; seed: number; messages: number; frames: number; seconds: number;
  /** What the cloud link made of them, and what the generator expected (valid: the honest gateway's too). */
  counted: { forged: number; malformed: number; valid: number }; expected: { forged: number; malformed: number; valid: number };
  /** The honest gateway: frames sent, answered (each once), and the rogue answers it refused or dropped. */
  honest: { sent: number; answered: number; wrongAnswers: number; rogueAnswers: number; refused: number };
  gatewaysKept: number; lagMaxMs: number; lagP99Ms: number; violations: string[];
}

const until = async (cond: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

export async function runLinkFuzz(o: { messages?: number; seed?: number } = {}): Promise<LinkFuzzReport> {
  const messages = o.messages ?? 2000;
  const seed = o.seed ?? 1;
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const started = Date.now();
  const broker = await startEmbeddedBroker(0);
  const settings = { url: broker.url, protocolVersion: 4 as const };
  const cloud = await CloudLink.open({ settings, group: null, reorderMs: 100, maxGateways: FUZZ_MAX_GATEWAYS });
  // The tail: every frame it is given is answered at once, as tail-infer would.
  cloud.on('frame', (payload: Buffer, topic: string) => {
    const f = decodeFrame(payload);
    cloud.reply(encodeFrame({ ...f, kind: 'result', shape: [], payload: undefined, body: { index: 1, label: 'x', confidence: 0.5, source: 'cloud' } }), topic);
  });
  const edge = await EdgeLink.open({ settings, gateway: HONEST, resendAfterMs: 60_000 });
  const peer = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const expected = { forged: 0, malformed: 0, valid: 0 };
  const honest = { sent: 0, answered: 0, wrongAnswers: 0, rogueAnswers: 0, refused: 0 };
  const honestFrames = new Map<number, Buffer>();
  const violations: string[] = [];
  edge.on('answer', (f) => {
    honest.answered++;
    const sent = honestFrames.get(f.seq);
    if (!sent || decodeFrame(sent).timestampMs !== f.timestampMs) honest.wrongAnswers++;
  });
  let frames = 0;
  try {
    await until(() => cloud.connected && edge.connected, 10_000);
    lag.enable();
    const inflight: Promise<unknown>[] = [];
    for (let m = 0; m < messages; m++) {
      const kind = int(10);
      if (kind === 0) {
        // The honest gateway's next frame.
        const frame = encodeFrame({ kind: 'features', rateLevel: 0, modelId: MODEL, gatewayId: HONEST, bootId: HONEST_BOOT, seq: honest.sent, timestampMs: 1e12 + honest.sent, shape: [4], payload: Buffer.from([1, 2, 3, 4]) });
        honestFrames.set(honest.sent++, frame);
        edge.submit(frame);
        continue;
      }
      if (kind === 1 && honest.sent) {
        // A rogue answer on the honest gateway's topic: its key, one echoed field wrong (or not a frame at all).
        const sent = decodeFrame(honestFrames.get(int(honest.sent))!);
        const wrong: Partial<FrameInput> = pick([{ timestampMs: sent.timestampMs + 1 }, { rateLevel: 1 }, { modelId: OTHER_MODEL }, { gatewayId: 'gw-other' }]);
        const answer = int(8) === 0 ? Buffer.from('junk') : encodeFrame({ ...sent, ...wrong, kind: 'result', shape: [], payload: undefined, body: { index: 9, label: 'rogue', confidence: 1, source: 'cloud' } });
        honest.rogueAnswers++;
        inflight.push(peer.publishAsync(topics.results(HONEST, MODEL), answer, { qos: 1 }));
        continue;
      }
      // A peer on its own topic (as the ACL enforces): a made-up gateway now and then.
      const madeUp = int(4) === 0;
      const own = madeUp ? `gw-${int(3000)}` : pick(['gw-a', 'gw-b', 'gw-c']);
      const count = int(6) === 0 ? 1 + int(MAX_BATCH_FRAMES) : 1;
      const batch: Buffer[] = [];
      let forged = 0;
      for (let i = 0; i < count; i++) {
        const claims = int(5) === 0 ? pick([HONEST, 'gw-a', own]) : own;
        const model = int(10) === 0 ? OTHER_MODEL : MODEL;
        const seq = int(3) === 0 ? pick(SEQS) : int(3) === 0 ? (rnd() * 2 ** 32) >>> 0 : m + i;
        const bootId = pick([1, 2, HONEST_BOOT, (rnd() * 2 ** 32) >>> 0]);
        batch.push(encodeFrame({ kind: 'features', rateLevel: int(256), modelId: model, gatewayId: claims, bootId, seq, timestampMs: int(2 ** 40), shape: [1 + int(4)], payload: Buffer.from([int(256)]) }));
        if (claims !== own || model !== MODEL) forged++;
      }
      frames += count;
      const over = count > 1 && int(20) === 0; // the count field says more than the cap: refused whole
      const payload = count === 1 ? batch[0] : encodeBatch(batch);
      if (over) payload.writeUInt16LE(0xffff, 4);
      if (over) expected.malformed++;
      else { expected.forged += forged; expected.valid += count - forged; }
      inflight.push(peer.publishAsync(topics.features(own, MODEL), payload, { qos: 1 }));
      if (madeUp && int(2) === 0) inflight.push(peer.publishAsync(topics.state(own), encodeFrame({ kind: 'birth', rateLevel: 0, modelId: MODEL, gatewayId: own, bootId: 1, seq: 0, timestampMs: 1, shape: [], body: { software: 'fuzz' } }), { qos: 1 }));
      if (inflight.length >= 32) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    expected.valid += honest.sent; // the honest gateway's frames reach the same cloud
    const counted = () => {
      const s = cloud.stats();
      return { forged: s.forged, malformed: s.malformed, valid: s.received + s.duplicates };
    };
    await until(() => JSON.stringify(counted()) === JSON.stringify(expected) && honest.answered >= honest.sent, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // a late wrong answer would show here
    lag.disable();
    const e = edge.stats();
    honest.refused = e.refusedAnswers + e.malformedAnswers + e.duplicates;
    const c = counted();
    if (JSON.stringify(c) !== JSON.stringify(expected)) violations.push(`cloud counted ${JSON.stringify(c)}, expected ${JSON.stringify(expected)}`);
    if (honest.answered !== honest.sent || honest.wrongAnswers) violations.push(`honest gateway: ${JSON.stringify(honest)}`);
    if (honest.refused !== honest.rogueAnswers) violations.push(`rogue answers ${honest.rogueAnswers}, refused or dropped ${honest.refused}`);
    if (cloud.gateways.size > FUZZ_MAX_GATEWAYS) violations.push(`${cloud.gateways.size} gateways kept, cap ${FUZZ_MAX_GATEWAYS}`);
    return {
      ok: violations.length === 0, seed, messages, frames, seconds: (Date.now() - started) / 1000, counted: c, expected, honest,
      gatewaysKept: cloud.gateways.size, lagMaxMs: lag.max / 1e6, lagP99Ms: lag.percentile(99) / 1e6, violations,
    };
  } finally {
    await peer.endAsync();
    await edge.close();
    await cloud.close();
    await broker.close();
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? Number(process.argv[at + 1]) : fallback;
  };
  runLinkFuzz({ messages: arg('--messages', 20_000), seed: arg('--seed', 1) }).then((r) => {
    console.log(JSON.stringify(r, null, 2));
    if (!r.ok) process.exitCode = 1;
  });
}
