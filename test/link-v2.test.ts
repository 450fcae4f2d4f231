// Wire v2 between real links on a real (embedded) broker: the gateway starts in v1 and
// moves to v2 once a tail answers in v2; compact answers are read with the task; a v2
// answer that does not echo its frame's CRC is refused (no peer answers for another); and
// the mixed fleet: an old gateway (no context in its birth) is answered in v1, a gateway
// whose tail only speaks v1 stays on v1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceOf } from '../lib/link/profiles';
import { DEFAULT_COALESCE_MS } from '../lib/link/edge-link-types';
import * as mqtt from 'mqtt';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { until } from './support/until';
import { resultFor } from './support/answers';
import { spyOnGateway } from './support/link-spy';
import { EdgeLink } from '../lib/link/edge-link';
import { CloudLink } from '../lib/link/cloud-link';
import { contextOfBirth, frameCrc } from '../lib/link/wire-context';
import { Refusal } from '../lib/link/identity';
import { decodeFrame, encodeAnswerV2, encodeFrame, Frame, framesOf, isFrameV2, LinkContext } from '../lib/wire';
import { encodeClassAnswer, decodeClassAnswer } from '../lib/task';
import { BOOT_ID } from '../lib/link/sequence';

let broker: EmbeddedBroker;
before(async () => { broker = await startEmbeddedBroker(); });
after(async () => { await broker.close(); });

const settings = () => ({ url: broker.url, protocolVersion: 4 as const });
const MODEL = '00112233aabbccdd';
const BOOT = BOOT_ID; // as bottleneck-encode stamps them: the context's own boot
const features = (gw: string, seq: number, flags = 0) => encodeFrame({
  kind: 'features', rateLevel: 1, modelId: MODEL, gatewayId: gw, bootId: BOOT, seq, timestampMs: Date.now(), shape: [4, 2, 2], payload: Buffer.from([seq & 0xff, 3, 5, 7, 11]), flags,
});
/** Reads a compact classification answer as the edge's task would, without a bundle. */
const readAnswer = (_model: string, bytes: Uint8Array) => { const a = decodeClassAnswer(bytes, 10); return { index: a.index, label: `class ${a.index}`, confidence: a.confidence }; };

async function answeringCloud(t: { after(fn: () => unknown): void }) {
  const cloud = await CloudLink.open({ settings: settings(), group: null });
  t.after(() => cloud.close());
  cloud.on('frame', (payload: Buffer, topic: string) => {
    const f = decodeFrame(payload);
    cloud.reply(resultFor(payload, f.seq % 10), topic, encodeClassAnswer({ index: f.seq % 10, confidence: 0.75 }));
  });
  return cloud;
}

test('v1 until a tail answers in v2, then v2 both ways: short topics, ~27 B frames, ~19 B compact answers, flags carried', async (t) => {
  const cloud = await answeringCloud(t);
  const spy = await spyOnGateway(broker.url, 'gw-2');
  t.after(() => spy.end());
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-2', readAnswer });
  t.after(() => edge.close());
  await until(() => edge.connected && cloud.connected);
  const answers: Frame[] = [];
  edge.on('answer', (f: Frame) => answers.push(f));
  for (let i = 0; i < 5; i++) {
    edge.submit(features('gw-2', i, i === 4 ? 1 : 0));
    await until(() => answers.length === i + 1);
  }
  assert.deepEqual(answers.map((a) => [a.seq, a.body?.index, a.body?.label]), [0, 1, 2, 3, 4].map((i) => [i, i, `class ${i}`]));
  assert.equal(answers[4].flags, 1, 'the audit flag comes back with the answer');
  assert.equal(edge.stats().wire, 2);
  const v2Up = spy.up.filter((m) => isFrameV2(m));
  assert.equal(spy.up.length - v2Up.length, 1, 'only the first frame went v1');
  assert.ok(v2Up.every((m) => m.length <= 28), `v2 frames of ${v2Up.map((m) => m.length)} B (v1: ${features('gw-2', 1).length} B)`);
  assert.ok(spy.down.every((m) => isFrameV2(m) && m.length <= 20), `answers of ${spy.down.map((m) => m.length)} B`);
  const frames = spy.frames();
  assert.deepEqual(frames.map((f) => [f.seq, f.flags ?? 0, f.modelId]), [0, 1, 2, 3, 4].map((i) => [i, i === 4 ? 1 : 0, MODEL]));
  assert.ok(edge.stats().qos0 >= 4, 'frames after the first answer skip the PUBACK');
});

test('a v2 answer that does not echo its frame\'s CRC is refused and counted; the frame waits for the real answer', async (t) => {
  const cloud = await CloudLink.open({ settings: settings(), group: null });
  t.after(() => cloud.close());
  const held: { payload: Buffer; topic: string }[] = [];
  cloud.on('frame', (payload: Buffer, topic: string) => held.push({ payload, topic }));
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-e', readAnswer });
  t.after(() => edge.close());
  await until(() => edge.connected && cloud.connected);
  const refused: Refusal[] = [];
  edge.on('refused', (r: Refusal) => refused.push(r));
  let answered = 0;
  edge.on('answer', () => answered++);
  edge.submit(features('gw-e', 0));
  await until(() => held.length === 1);
  cloud.reply(resultFor(held[0].payload), held[0].topic, encodeClassAnswer({ index: 1, confidence: 0.5 }));
  await until(() => answered === 1);
  edge.submit(features('gw-e', 1));
  await until(() => held.length === 2);
  // Someone who saw the context (a retained birth is readable) but not the frame: right boot and seq, wrong echo.
  const rogue = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  t.after(() => rogue.endAsync());
  const ctx = await birthContext(rogue, 'gw-e');
  const forged = encodeAnswerV2({ kind: 'result', bootId: BOOT, seq: 1, echo: frameCrc(held[1].payload) ^ 1, answer: encodeClassAnswer({ index: 9, confidence: 1 }) }, ctx);
  await rogue.publishAsync('split/gw-e/r', forged, { qos: 1 });
  await until(() => refused.length === 1);
  assert.equal(refused[0].reason, 'mismatch');
  assert.match(refused[0].detail, /echoes checksum/);
  assert.equal(edge.outbox.size, 1, 'still pending');
  assert.equal(edge.stats().refusedAnswers, 1);
  cloud.reply(resultFor(held[1].payload), held[1].topic, encodeClassAnswer({ index: 2, confidence: 0.5 }));
  await until(() => answered === 2 && edge.outbox.size === 0);
});

async function birthContext(client: mqtt.MqttClient, gateway: string): Promise<LinkContext> {
  const got = new Promise<LinkContext>((resolve) => client.on('message', (_t, p) => { const c = contextOfBirth(gateway, decodeFrame(p)); if (c) resolve(c); }));
  await client.subscribeAsync(`split/${gateway}/state`);
  return got;
}

test('mixed fleet: an old gateway (birth without a context) is answered in v1', async (t) => {
  await answeringCloud(t);
  const old = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  t.after(() => old.endAsync());
  const answers: { topic: string; payload: Buffer }[] = [];
  old.on('message', (topic, payload) => answers.push({ topic, payload }));
  await old.subscribeAsync('split/gw-old/#');
  const birth = encodeFrame({ kind: 'birth', rateLevel: 0, modelId: '0000000000000000', gatewayId: 'gw-old', bootId: BOOT, seq: 0, timestampMs: Date.now(), shape: [], body: { software: 'node-red-contrib-split-dnn@0.0.9' } });
  await old.publishAsync('split/gw-old/state', birth, { qos: 1, retain: true });
  await old.publishAsync(`split/gw-old/${MODEL}/features`, features('gw-old', 3), { qos: 1 });
  await until(() => answers.some((a) => a.topic.endsWith('/results')));
  const a = answers.find((x) => x.topic.endsWith('/results'))!;
  assert.equal(a.topic, `split/gw-old/${MODEL}/results`);
  assert.deepEqual([decodeFrame(a.payload).kind, decodeFrame(a.payload).seq, decodeFrame(a.payload).body?.index], ['result', 3, 3]);
  await old.publishAsync('split/gw-old/state', Buffer.alloc(0), { qos: 1, retain: true });
});

test('mixed fleet: a gateway whose tail only speaks v1 stays on v1', async (t) => {
  // An old tail: answers v1 frames with v1 results and ignores split/+/f.
  const oldTail = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  t.after(() => oldTail.endAsync());
  oldTail.on('message', (topic, payload) => {
    for (const f of framesOf(payload)) void oldTail.publishAsync(topic.replace(/features$/, 'results'), resultFor(f), { qos: 1 });
  });
  await oldTail.subscribeAsync('split/gw-v1/+/features');
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-v1' });
  t.after(() => edge.close());
  await until(() => edge.connected);
  let answered = 0;
  edge.on('answer', () => answered++);
  for (let i = 0; i < 4; i++) edge.submit(features('gw-v1', i));
  await until(() => answered === 4 && edge.outbox.size === 0);
  assert.equal(edge.stats().wire, 1);
});

test('a cloud link hands a v2 frame on as the very v1 frame the gateway stored', async (t) => {
  const cloud = await CloudLink.open({ settings: settings(), group: null });
  t.after(() => cloud.close());
  const seen: Buffer[] = [];
  cloud.on('frame', (payload: Buffer, topic: string) => { seen.push(payload); cloud.reply(resultFor(payload), topic, encodeClassAnswer({ index: 0, confidence: 1 })); });
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-s', readAnswer });
  t.after(() => edge.close());
  await until(() => edge.connected && cloud.connected);
  const sent = [0, 1, 2].map((i) => features('gw-s', i));
  for (const f of sent) edge.submit(f);
  await until(() => edge.outbox.size === 0);
  assert.deepEqual(seen.map((b) => b.toString('hex')).sort(), sent.map((b) => b.toString('hex')).sort());
});

test('the coalescing budget field: blank gets the default, a number is taken, anything else is reported and gets the default', () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  assert.equal(coalesceOf(undefined, warn), DEFAULT_COALESCE_MS);
  assert.equal(coalesceOf('', warn), DEFAULT_COALESCE_MS);
  assert.equal(coalesceOf('0', warn), 0);
  assert.equal(coalesceOf('250', warn), 250);
  assert.deepEqual(warnings, []);
  assert.equal(coalesceOf('${SPLIT_DNN_COALESCE_MS}', warn), DEFAULT_COALESCE_MS, 'an unset variable left as text');
  assert.equal(coalesceOf('-5', warn), DEFAULT_COALESCE_MS);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /not a whole number of ms: using 1000/);
});
