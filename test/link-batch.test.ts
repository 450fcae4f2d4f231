// Batching on a real (embedded) broker: frames that queue behind unacknowledged messages
// leave together, the cloud answers each batch with one batch, and nothing is lost or
// answered twice; an idle link still sends each frame alone, at once. And what the link
// measures for the rate controller: the oldest frame's wait, the latency accept → answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as mqtt from 'mqtt';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { until } from './support/until';
import { resultFor } from './support/answers';
import { EdgeLink } from '../lib/link/edge-link';
import { CloudLink } from '../lib/link/cloud-link';
import { decodeFrame, encodeFrame, framesOf, isBatch } from '../lib/wire';
import { spyOnGateway } from './support/link-spy';

let broker: EmbeddedBroker;
before(async () => { broker = await startEmbeddedBroker(); });
after(async () => { await broker.close(); });

const settings = () => ({ url: broker.url, protocolVersion: 4 as const });
const MODEL = '00112233aabbccdd';
const features = (gw: string, seq: number) => encodeFrame({
  kind: 'features', rateLevel: 1, modelId: MODEL, gatewayId: gw, bootId: 42, seq, timestampMs: Date.now(), shape: [4, 2, 2], payload: Buffer.from([seq & 0xff, 3, 5, 7, 11]),
});

/** A cloud that answers every frame it gets with a result naming the frame's seq. */
async function answeringCloud(t: { after(fn: () => unknown): void }) {
  const cloud = await CloudLink.open({ settings: settings(), group: null });
  t.after(() => cloud.close());
  cloud.on('frame', (payload: Buffer) => {
    const f = decodeFrame(payload);
    // answer out of order now and then, as parallel inference would
    setTimeout(() => cloud.reply(resultFor(payload, f.seq % 10)), f.seq % 3);
  });
  return cloud;
}

async function spyOn(filter: string) {
  const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  const messages: Buffer[] = [];
  spy.on('message', (_t, p) => messages.push(p));
  await spy.subscribeAsync(filter, { qos: 1 });
  return { spy, messages };
}

test('a burst leaves in batches, is answered in batches, each frame exactly once', async (t) => {
  const cloud = await answeringCloud(t);
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-b', maxBatch: 50 });
  t.after(() => edge.close());
  const spy = await spyOnGateway(broker.url, 'gw-b');
  t.after(() => spy.end());
  await until(() => edge.connected && cloud.connected);
  const answered = new Map<number, number>();
  edge.on('answer', (f) => answered.set(f.seq, (answered.get(f.seq) ?? 0) + 1));
  const N = 600;
  for (let i = 0; i < N; i++) edge.submit(features('gw-b', i));
  await until(() => answered.size === N && edge.outbox.size === 0, 15_000);
  await new Promise((r) => setTimeout(r, 200)); // a late duplicate would show here
  assert.ok([...answered.values()].every((n) => n === 1), 'each frame answered once');
  const s = edge.stats();
  assert.equal(s.published, N);
  assert.equal(s.duplicates, 0);
  assert.ok(s.messages <= N / 10, `${s.messages} messages carried ${N} frames`);
  // what crossed the broker: batches of at most 50 frames, every frame once
  assert.deepEqual(spy.frames().map((f) => f.seq).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
  assert.ok(spy.up.some(isBatch) && spy.up.every((m) => framesOf(m).length <= 50));
  // v1 until the first v2 answer, then v2: a v1 frame of these is 48 B, its v2 form 19-21 B
  const upBytes = spy.up.reduce((n, m) => n + m.length, 0);
  assert.ok(upBytes < N * 48 * 0.6, `${upBytes} B on the wire for ${N} frames`);
  assert.equal(s.wire, 2, 'the frames went v2 once the cloud answered in v2');
  const c = cloud.stats();
  assert.equal(c.answered, N);
  assert.ok(c.messages < N / 5, `${c.messages} answer messages for ${N} answers`);
  assert.equal(spy.answerSeqs().length, N);
});

test('an idle link sends each frame alone, without waiting for company', async (t) => {
  const cloud = await answeringCloud(t);
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-i' });
  t.after(() => edge.close());
  const spy = await spyOnGateway(broker.url, 'gw-i');
  t.after(() => spy.end());
  await until(() => edge.connected && cloud.connected);
  let answers = 0;
  edge.on('answer', () => answers++);
  for (let i = 0; i < 20; i++) {
    edge.submit(features('gw-i', i));
    await until(() => answers === i + 1);
  }
  assert.equal(edge.stats().messages, 20);
  assert.equal(spy.up.length, 20);
  assert.ok(spy.up.every((m) => !isBatch(m)), 'single frames, as before batching');
  assert.deepEqual({ qos0: edge.stats().qos0, qos1: edge.stats().qos1 }, { qos0: 19, qos1: 1 }, 'after the first answer, no PUBACK');
});

test('a malformed batch is reported and the link goes on serving; the gateway resends its frames', async (t) => {
  const cloud = await answeringCloud(t);
  const errors: string[] = [];
  cloud.on('link-error', (e: Error) => errors.push(e.message));
  const rogue = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  t.after(() => rogue.endAsync());
  await until(() => cloud.connected);
  await rogue.publishAsync(`split/gw-m/${MODEL}/features`, Buffer.from([0x53, 0x42, 1, 0, 2, 0, 5, 1, 2]), { qos: 1 });
  await until(() => errors.length > 0);
  assert.match(errors[0], /malformed batch on split\/gw-m\/.*TRUNCATED at batch\.frame/);
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-m' });
  t.after(() => edge.close());
  let answers = 0;
  edge.on('answer', () => answers++);
  for (let i = 0; i < 30; i++) edge.submit(features('gw-m', i));
  await until(() => answers === 30);
  assert.equal(edge.outbox.size, 0);
});

test('the link reports how long its oldest frame has waited and the latency from accept to answer', async (t) => {
  const cloud = await CloudLink.open({ settings: settings(), group: null });
  t.after(() => cloud.close());
  const held: Buffer[] = [];
  cloud.on('frame', (payload: Buffer) => held.push(payload));
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-w' });
  t.after(() => edge.close());
  await until(() => edge.connected && cloud.connected);
  assert.equal(edge.stats().oldestPendingMs, null, 'nothing pending, nothing waits');
  const acceptedAt = Date.now();
  for (let i = 0; i < 3; i++) edge.submit(features('gw-w', i));
  await until(() => held.length === 3);
  await new Promise((r) => setTimeout(r, 300));
  const waiting = edge.stats();
  assert.equal(waiting.pending, 3);
  assert.ok(waiting.oldestPendingMs! >= 300 && waiting.oldestPendingMs! <= Date.now() - acceptedAt, `oldest waited ${waiting.oldestPendingMs} ms`);
  assert.equal(waiting.latencyMsP95, null, 'no answer yet, no latency');
  for (const p of held) cloud.reply(resultFor(p));
  await until(() => edge.outbox.size === 0);
  const answered = edge.stats();
  assert.equal(answered.oldestPendingMs, null);
  assert.ok(answered.latencyMsP50! >= 300, `latency ${answered.latencyMsP50} ms`);
  assert.ok(answered.latencyMsP50! >= answered.rttMsP50!, 'the latency counts the wait before the publish too');
});

test('every frame published again counts as resent, after a reconnect as after a timeout', async (t) => {
  const up = await spyOn('split/gw-r/+/features');
  t.after(() => up.spy.endAsync());
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-r', resendAfterMs: 60_000 });
  t.after(() => edge.close());
  await until(() => edge.connected);
  for (let i = 0; i < 3; i++) edge.submit(features('gw-r', i));
  await until(() => up.messages.flatMap((m) => framesOf(m)).length === 3);
  assert.equal(edge.stats().resent, 0);
  // The connection drops (no answer came): on reconnect all three go again.
  (edge as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
  await until(() => up.messages.flatMap((m) => framesOf(m)).length === 6, 10_000);
  assert.equal(edge.stats().resent, 3);
  assert.equal(edge.stats().published, 6);
});
