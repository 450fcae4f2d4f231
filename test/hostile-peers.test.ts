// A tail (`split-dnn start --role cloud`) on mosquitto with the README's password file and
// per-gateway ACL, and peers that stay inside their own topics but write what they like in
// their frames: far-apart sequence numbers, another gateway's id, boot and seqs, a batch
// that declares 65,535 frames. The tail's own /metrics says what it cost and what it refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import * as mqtt from 'mqtt';
import { startSecureBroker, USERS } from './support/acl';
import type { Mosquitto } from './support/mosquitto';
import { startCloud } from './support/fleet';
import type { Runtime } from './support/runtime';
import { featuresFrame } from './support/frames';
import { parsePrometheus, sampleValue, Sample } from './support/prometheus';
import { BUNDLE, tempDir } from './support/paths';
import { sleep } from './support/faults';
import { ModelRuntime } from '../lib/model';
import { argmax } from '../lib/exit';
import { RateCodec } from '../lib/codec/rate-codec';
import { decodeFrame, encodeFrame, Frame, framesOf } from '../lib/wire';
import { topics } from '../lib/link/topics';
import { MAX_GAP } from '../lib/link/sequence';

let broker: Mosquitto;
let tail: Runtime;
let rt: ModelRuntime;
const clients: mqtt.MqttClient[] = [];

before(async () => {
  broker = await startSecureBroker();
  rt = await ModelRuntime.open(BUNDLE, { workers: 1 });
  tail = await startCloud(broker.url, tempDir('hostile'), 'tail-0', { SPLIT_DNN_MQTT_USERNAME: 'tails', SPLIT_DNN_MQTT_PASSWORD: USERS.tails });
});
after(async () => {
  for (const c of clients) await c.endAsync();
  await tail?.stop('SIGKILL');
  await rt?.close();
  await broker?.stop();
});

/** A gateway as a bare MQTT client logged in under its own name, with the answers it hears. */
async function peer(user: string): Promise<{ client: mqtt.MqttClient; answers: Frame[]; send: (frame: Buffer) => Promise<unknown> }> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: user, password: USERS[user], clientId: `peer-${user}-${clients.length}` });
  clients.push(client);
  const answers: Frame[] = [];
  client.on('message', (_t, payload) => answers.push(...framesOf(payload).map((f) => decodeFrame(f))));
  await client.subscribeAsync(topics.resultsFor(user), { qos: 1 });
  return { client, answers, send: (frame) => client.publishAsync(topics.features(user, rt.modelId), frame, { qos: 1 }) };
}

async function metrics(): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${tail.port}/metrics`);
  return parsePrometheus(await res.text());
}
const value = async (name: string, gateway: string) => sampleValue(await metrics(), name, { gateway }) ?? 0;

/** Polls the tail's /metrics until `name{gateway}` reaches `want`; the value it got. */
async function metricReaches(name: string, gateway: string, want: number, timeoutMs = 20_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let v = await value(name, gateway);
  while (v < want && Date.now() < end) { await sleep(200); v = await value(name, gateway); }
  return v;
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The class the model gives a features frame, run here directly. */
async function classOf(frame: Buffer): Promise<number> {
  const f = decodeFrame(frame);
  const latent = new RateCodec(rt.manifest.rates[f.rateLevel]).decode(f.payload);
  return argmax(await rt.tail(await rt.decode(f.rateLevel, latent, 1), 1));
}

test('far-apart sequence numbers on a gateway\'s own topic: the event loop stays free, jumps count as resets, the gap counter stays sane', async () => {
  const evil = await peer('evil');
  const gwA = await peer('gw-a');
  // A tail's first frames cost it a few hundred ms once (warm-up): not what is measured here.
  const gwB = await peer('gw-b');
  for (let seq = 0; seq < 4; seq++) await gwB.send(await featuresFrame(rt, seq, 0, seq, 'gw-b', 3));
  await until(() => gwB.answers.length === 4, 'answers to the warm-up frames');
  await metrics(); // the lag figures cover the time since the last scrape
  // The numbers: 16 such frames once cost 34 s of event loop. The last skip of 4 is a real gap.
  const seqs = [0, 5, 0x7fffffff, 6, 0xffffffff, 3_000_000_000, 1 << 20, 0x80000001, 12_345_678, 0xfffffffe, 7, 2_222_222_222, 99, 0x40000000, 0xdeadbeef, 0xdeadbeef + 5];
  for (const [i, seq] of seqs.entries()) await evil.send(await featuresFrame(rt, i % 8, 0, seq, 'evil', 9));
  await until(() => evil.answers.length >= seqs.length, `answers to all ${seqs.length} frames`);
  await gwA.send(await featuresFrame(rt, 1, 0, 0, 'gw-a', 5));
  await until(() => gwA.answers.length === 1, 'the next gateway\'s answer');
  await sleep(4500); // past the 3 s reorder window and the next sweep (every second), where skipped seqs are judged
  const lag = await metrics();
  const lagMax = sampleValue(lag, 'nodejs_eventloop_lag_max_seconds')!;
  console.log(`# event loop lag during the attack: max ${(lagMax * 1000).toFixed(1)} ms, p99 ${(sampleValue(lag, 'nodejs_eventloop_lag_p99_seconds')! * 1000).toFixed(1)} ms`);
  assert.ok(lagMax < 1, `event loop lag max ${lagMax} s (the stall this guards against lasted seconds)`);
  await tail.waitFor(/gateway evil \(boot 9\): 4 frame\(s\) missing, seq 3735928560\.\.3735928563/, 20_000); // the reorder window passes
  const m = await metrics();
  const gaps = sampleValue(m, 'split_dnn_gap_frames_total', { gateway: 'evil' }) ?? 0;
  assert.ok(gaps >= 4 && gaps <= seqs.length * MAX_GAP, `gap frames counted: ${gaps}`);
  assert.ok((sampleValue(m, 'split_dnn_seq_resets_total', { gateway: 'evil' }) ?? 0) >= 5, 'the long jumps are resets');
  assert.ok(evil.answers.every((a) => a.body?.error === undefined), 'valid frames, answered');
});

test('a gateway cannot answer for another: forged frames (valid and erroring) on its own topic are refused unanswered and counted under it', async () => {
  const evil = await peer('evil');
  const gwA = await peer('gw-a');
  const boot = 77; // gw-a's live boot id, readable off the wire
  const valid = await Promise.all([10, 11, 12, 13, 14].map((seq) => featuresFrame(rt, seq % 8, 0, seq, 'gw-a', boot)));
  const erroring = valid.map((frame, i) => encodeFrame({ ...decodeFrame(frame), seq: 15 + i, shape: [1, 2, 3] }));
  const frames0 = await value('split_dnn_cloud_frames_total', 'gw-a');
  const forged0 = await value('split_dnn_forged_frames_total', 'evil');
  for (const frame of [...valid, ...erroring]) await evil.send(frame);
  assert.equal(await metricReaches('split_dnn_forged_frames_total', 'evil', forged0 + 10), forged0 + 10, 'each forged frame counted once, under the topic it came on');
  await sleep(500);
  assert.equal(gwA.answers.length, 0, 'no answer reached gw-a');
  assert.equal(evil.answers.length, 0, 'nor the forger');

  // gw-a's real frames with those seqs: its own answers, inferred from its own frames.
  const real = await Promise.all([10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((seq) => featuresFrame(rt, (seq + 3) % 8, 0, seq, 'gw-a', boot)));
  for (const frame of real) await gwA.send(frame);
  await until(() => gwA.answers.length >= real.length, 'gw-a\'s answers');
  for (const frame of real) {
    const f = decodeFrame(frame);
    const answer = gwA.answers.find((a) => a.seq === f.seq)!;
    assert.equal(answer.body?.error, undefined, `seq ${f.seq} answered without an error`);
    assert.equal(answer.timestampMs, f.timestampMs, `seq ${f.seq}: the answer echoes gw-a's frame`);
    assert.equal(answer.body?.index, await classOf(frame), `seq ${f.seq}: gw-a's own class`);
  }
  const m = await metrics();
  assert.equal(sampleValue(m, 'split_dnn_cloud_frames_total', { gateway: 'gw-a' }), frames0 + real.length, 'forged frames do not inflate gw-a\'s count');
  assert.equal(sampleValue(m, 'split_dnn_forged_frames_total', { gateway: 'gw-a' }), undefined, 'nor create a label for the gateway they name');
  assert.match(tail.output(), /refused a forged frame on split\/evil\/[0-9a-f]{16}\/features: frame 0 \(boot 77, seq 10\): header says gateway gw-a/);
});

/** A batch as docs/wire-format.md §4 lays it out, with whatever count the writer likes. */
function rawBatch(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const len: number[] = [];
    for (let n = f.length; ; n >>>= 7) { if (n < 0x80) { len.push(n); break; } len.push((n & 0x7f) | 0x80); }
    parts.push(Buffer.from(len), f);
  }
  const body = zlib.deflateRawSync(Buffer.concat(parts));
  const header = Buffer.from([0x53, 0x42, 1, 1, 0, 0]);
  header.writeUInt16LE(frames.length, 4);
  return Buffer.concat([header, body]);
}

test('batches of 65,535 valid frames, and a 1 MiB frame, are refused whole before they are read, each counted once; the tail goes on serving', async () => {
  const evil = await peer('evil');
  const gwA = await peer('gw-a');
  const one = decodeFrame(await featuresFrame(rt, 0, 0, 0, 'evil', 1234));
  // The 555 KB of distinct frames, and the same count of one frame repeated, which deflates to a few KB.
  const batch = rawBatch(Array.from({ length: 65_535 }, (_, seq) => encodeFrame({ ...one, seq })));
  const compact = rawBatch(Array(65_535).fill(encodeFrame(one)));
  const parse0 = await value('split_dnn_parse_errors_total', 'evil');
  const frames0 = await value('split_dnn_cloud_frames_total', 'evil');
  await evil.client.publishAsync(topics.features('evil', rt.modelId), batch, { qos: 1 });
  await evil.client.publishAsync(topics.features('evil', rt.modelId), compact, { qos: 1 });
  assert.equal(await metricReaches('split_dnn_parse_errors_total', 'evil', parse0 + 2), parse0 + 2, `the ${batch.length}-byte and ${compact.length}-byte batches refused, each counted once`);
  // One valid frame of 1 MiB: its CRC alone would hold the event loop for tens of ms.
  await evil.send(encodeFrame({ ...one, seq: 70_000, payload: Buffer.alloc((1 << 20) - 64, 7) }));
  assert.equal(await metricReaches('split_dnn_parse_errors_total', 'evil', parse0 + 3), parse0 + 3, 'the 1 MiB frame refused, counted once');
  await gwA.send(await featuresFrame(rt, 2, 0, 1, 'gw-a', 6));
  await until(() => gwA.answers.some((a) => a.bootId === 6), 'an answer to the next frame');
  const m = await metrics();
  assert.equal(sampleValue(m, 'split_dnn_cloud_frames_total', { gateway: 'evil' }) ?? 0, frames0, 'none of its frames was taken');
  const rss = sampleValue(m, 'process_resident_memory_bytes')!;
  assert.ok(rss < 1 << 30, `resident memory ${Math.round(rss / 2 ** 20)} MiB, under the cloud unit's MemoryMax=1G`);
  assert.match(tail.output(), /refused a malformed message on split\/evil\/[0-9a-f]{16}\/features: malformed batch: OVER_CAP at batch\.count: 65535 frames, cap 64/);
  assert.match(tail.output(), new RegExp(`refused a malformed message on split/evil/[0-9a-f]{16}/features: a message of ${batch.length} bytes, cap 262144`));
  assert.deepEqual(evil.answers, []);
});
