// A locked-down broker: mosquitto with TLS from a CA this test makes with openssl, a
// password file and a per-gateway ACL. The gateway's link (split-link + mqtt-transmit in
// node-red-node-test-helper) verifies the broker on every connect, stays inside its own
// topics and says clearly why it is refused.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as mqtt from 'mqtt';
import { helper, startRed, stopRed, loadFlow, Collector, tab, catcher } from './support/red';
import type { Mosquitto } from './support/mosquitto';
import { startSecureBroker, USERS } from './support/acl';
import { makeCa, serverCert, KeyPair } from './support/tls';
import { tempDir } from './support/paths';
import { sleep } from './support/faults';
import * as path from 'node:path';
import { decodeFrame, encodeFrame, framesOf } from '../lib/wire';
import { fleetOfProcess } from '../lib/metrics';
import type { SplitLinkNode } from '../nodes/split-link/split-link';
import { resultFor } from './support/answers';
import { until } from './support/until';
import { parsePrometheus, sampleValue } from './support/prometheus';

let pki: { ca: KeyPair; rogue: KeyPair; genuine: KeyPair; impostor: KeyPair };
let broker: Mosquitto;
before(async () => {
  const dir = tempDir('pki');
  const ca = makeCa(dir, 'ca');
  const rogue = makeCa(dir, 'rogue-ca');
  pki = { ca, rogue, genuine: serverCert(dir, ca, 'broker'), impostor: serverCert(dir, rogue, 'impostor') };
  broker = await startSecureBroker({ tls: { certfile: pki.genuine.cert, keyfile: pki.genuine.key } });
  await startRed();
});
after(async () => { await stopRed(); await broker?.stop(); });
afterEach(() => helper.unload());

const frame = (gatewayId: string, seq: number) => encodeFrame({
  kind: 'features', rateLevel: 0, modelId: '0123456789abcdef', gatewayId, bootId: 1, seq, timestampMs: Date.now(), shape: [4], payload: Buffer.from([1, 2, 3, 4]),
});

async function gatewayFlow(caFile: string, user: string, password: string): Promise<Collector> {
  await loadFlow([tab,
    { id: 'link', type: 'split-link', broker: broker.url, protocol: '5', gateway: 'gw-a', group: '', verifyServer: true, caFile, outboxDir: '', window: '16', resendAfter: '2' },
    { id: 'tx', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [['answers']] },
    { id: 'answers', type: 'helper', z: 'f1' },
    { id: 'stats', type: 'split-stats', z: 'f1', link: 'link', watch: 'edge', interval: '0.25', window: '10', path: '', wires: [] },
    { id: 'watch', type: 'status', z: 'f1', scope: ['tx'], wires: [['statuses']] },
    { id: 'statuses', type: 'helper', z: 'f1' }, ...catcher,
  ], { link: { username: user, password } });
  return new Collector('statuses');
}

/** The first status text of the gateway's mqtt-transmit that matches, from `since` on. */
async function status(statuses: Collector, pattern: RegExp, since = 0, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const texts = statuses.messages.slice(since).map((m) => String((m.status as { text?: unknown }).text));
    const hit = texts.find((t) => pattern.test(t));
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no status matching ${pattern}; saw ${JSON.stringify(texts.slice(-5))}`);
    await sleep(50);
  }
}

const safeFrames = (p: Buffer) => { try { return framesOf(p); } catch { return [p]; } };

/** A client of this broker that records the topics it receives. */
async function listener(user: string, topic: string, ca = pki.ca): Promise<{ topics: string[]; client: mqtt.MqttClient }> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: user, password: USERS[user], ca: fs.readFileSync(ca.cert), reconnectPeriod: 0 });
  const topics: string[] = [];
  // One entry per frame: the link may coalesce frames into one batch.
  client.on('message', (t, p) => { for (const _ of safeFrames(p)) topics.push(t); });
  await client.subscribeAsync(topic, { qos: 1 });
  return { topics, client };
}

test('TLS from a private CA, a password and an ACL: the gateway connects and its frames reach the tails', async () => {
  const tails = await listener('tails', 'split/+/+/features');
  try {
    const statuses = await gatewayFlow(pki.ca.cert, 'gw-a', 'pw-a');
    await status(statuses, /^connected/);
    for (let i = 0; i < 3; i++) helper.getNode('tx').receive({ payload: frame('gw-a', i) });
    for (let i = 0; i < 100 && tails.topics.length < 3; i++) await sleep(20);
    assert.deepEqual(tails.topics, Array(3).fill('split/gw-a/0123456789abcdef/features'));
  } finally {
    await tails.client.endAsync();
  }
});

test('the ACL keeps each gateway inside its own topics, checked where it counts: at the subscribers', async () => {
  const tails = await listener('tails', 'split/+/+/features');
  const gwB = await listener('gw-b', 'split/gw-b/+/results');
  const gwASpy = await listener('gw-a', 'split/gw-b/+/results').catch((err: Error) => ({ refused: err }));
  const gwA = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'gw-a', password: 'pw-a', ca: fs.readFileSync(pki.ca.cert), reconnectPeriod: 0 });
  try {
    // gw-a publishing as gw-b: MQTT 5 tells the publisher; either way no subscriber gets it.
    const denied = await gwA.publishAsync('split/gw-b/0123456789abcdef/features', frame('gw-b', 1), { qos: 1 }).then(() => null, (err: Error) => err);
    await gwA.publishAsync('split/gw-a/0123456789abcdef/features', frame('gw-a', 2), { qos: 1 });
    // The tails answer gw-b: gw-b hears it, gw-a must not.
    const tailsPub = tails.client;
    await tailsPub.publishAsync('split/gw-b/0123456789abcdef/results', Buffer.from('answer'), { qos: 1 });
    await sleep(500);
    assert.deepEqual(tails.topics, ['split/gw-a/0123456789abcdef/features'], 'only the frame under its own id arrived');
    assert.match(String(denied?.message), /Not authorized/);
    assert.deepEqual(gwB.topics, ['split/gw-b/0123456789abcdef/results']);
    if ('topics' in gwASpy) assert.deepEqual(gwASpy.topics, [], 'gw-a cannot read gw-b\'s answers');

    // The same through the node: a frame under another gateway's id is refused and the status says so.
    const statuses = await gatewayFlow(pki.ca.cert, 'gw-a', 'pw-a');
    await status(statuses, /^connected/);
    helper.getNode('tx').receive({ payload: frame('gw-b', 3) });
    assert.match(await status(statuses, /refused/), /^connected.*broker refused frames on split\/gw-b\/0123456789abcdef\/features: .*Not authorized/);
    await sleep(300);
    assert.equal(tails.topics.length, 1);
  } finally {
    for (const c of [tails.client, gwB.client, gwA, 'client' in gwASpy ? gwASpy.client : null]) await c?.endAsync();
  }
});

test('a broker whose certificate does not chain to the configured CA is refused on the first connect', async () => {
  const tails = await listener('tails', 'split/+/+/features');
  try {
    const statuses = await gatewayFlow(pki.rogue.cert, 'gw-a', 'pw-a');
    helper.getNode('tx').receive({ payload: frame('gw-a', 10) });
    const refused = await status(statuses, /certificate|issuer/i);
    assert.match(refused, /disconnected|connecting/);
    assert.ok(refused.includes(`TLS: broker 127.0.0.1:${broker.port} not verified against CA file ${pki.rogue.cert}`), `the status names the host and the CA file: ${refused}`);
    await sleep(1500); // a reconnect attempt or two
    assert.ok(!statuses.messages.some((m) => /^connected/.test(String((m.status as { text: string }).text))), 'never connected');
    assert.deepEqual(tails.topics, []);
  } finally {
    await tails.client.endAsync();
  }
});

test('and on every reconnect: an impostor on the broker\'s address gets nothing; the real broker gets it all', async () => {
  const statuses = await gatewayFlow(pki.ca.cert, 'gw-a', 'pw-a');
  await status(statuses, /^connected/);
  const mark = statuses.messages.length;
  await broker.restart({ tls: { certfile: pki.impostor.cert, keyfile: pki.impostor.key } });
  const spy = await listener('tails', 'split/#', pki.rogue);
  try {
    await status(statuses, /certificate|issuer/i, mark);
    for (let i = 20; i < 23; i++) helper.getNode('tx').receive({ payload: frame('gw-a', i) });
    await sleep(2500); // reconnect attempts every second
    assert.deepEqual(spy.topics, [], 'the impostor saw neither frames nor a birth');
  } finally {
    await spy.client.endAsync();
    await broker.restart({ tls: { certfile: pki.genuine.cert, keyfile: pki.genuine.key } });
  }
  const tails = await listener('tails', 'split/+/+/features');
  try {
    await status(statuses, /^connected/, mark);
    for (let i = 0; i < 200 && tails.topics.length < 3; i++) await sleep(25);
    assert.equal(tails.topics.length, 3, 'the frames held meanwhile reach the real broker');
  } finally {
    await tails.client.endAsync();
  }
});

test('wrong credentials are refused with a clear status, and the link comes up once the broker accepts them', async () => {
  const anonymous = await mqtt.connectAsync(broker.url, { protocolVersion: 5, ca: fs.readFileSync(pki.ca.cert), reconnectPeriod: 0 }).then(() => null, (err: Error) => err);
  assert.match(String(anonymous?.message), /Not authorized|Bad User Name or Password/);
  const statuses = await gatewayFlow(pki.ca.cert, 'gw-c', 'pw-c');
  assert.match(await status(statuses, /refused/), /Connection refused: (Not authorized|Bad User Name or Password)/);
  // The operator adds the login at the broker; the gateway is not restarted.
  broker.addUser('gw-c', 'pw-c');
  await status(statuses, /^connected/, 0, 10_000);
});

const edgeLink = () => (helper.getNode('link') as unknown as SplitLinkNode).edge();
const MODEL_RESULTS = 'split/gw-a/0123456789abcdef/results';

/** The tails' side, logged in as the README's tails user: answers every frame with its result. */
async function answeringTails(): Promise<{ client: mqtt.MqttClient; seen: number[] }> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'tails', password: USERS.tails, ca: fs.readFileSync(pki.ca.cert), reconnectPeriod: 0 });
  const seen: number[] = [];
  client.on('message', (_t, payload) => {
    for (const f of framesOf(payload)) {
      seen.push(decodeFrame(f).seq);
      void client.publishAsync(MODEL_RESULTS, resultFor(f), { qos: 1 });
    }
  });
  await client.subscribeAsync('split/+/+/features', { qos: 1 });
  return { client, seen };
}

test('a CA file that is not there yet: every frame is kept, the status names the file, and all are answered once it is there', async () => {
  const caFile = path.join(tempDir('ca-later'), 'ca.pem');
  const statuses = await gatewayFlow(caFile, 'gw-a', 'pw-a');
  const answers = new Collector('answers');
  for (let i = 0; i < 5; i++) helper.getNode('tx').receive({ payload: frame('gw-a', 100 + i) });
  assert.match(await status(statuses, /cannot read CA file/), new RegExp(`cannot read CA file ${caFile}: ENOENT`));
  const link = await edgeLink();
  await until(() => link.outbox.size === 5);
  assert.equal(link.stats().dropped, 0, 'every frame accepted is kept');
  const tails = await answeringTails();
  try {
    fs.copyFileSync(pki.ca.cert, caFile); // the operator puts the file in place; the link tries again by itself
    const got = await answers.wait(5, 30_000);
    assert.deepEqual(got.map((m) => (m.frame as { seq: number }).seq).sort(), [100, 101, 102, 103, 104]);
    await sleep(300);
    assert.equal(answers.messages.length, 5, 'each answered once');
    assert.equal(link.outbox.size, 0);
  } finally {
    await tails.client.endAsync();
  }
});

test('at the edge: an answer that does not parse, or does not echo its frame, is logged, counted once and refused; its frame waits for the real one', async () => {
  const metric = async (name: string) => sampleValue(parsePrometheus(await fleetOfProcess().registry.metrics()), name, { gateway: 'gw-a' }) ?? 0;
  const before = { parse: await metric('split_dnn_parse_errors_total'), refused: await metric('split_dnn_refused_answers_total') };
  const statuses = await gatewayFlow(pki.ca.cert, 'gw-a', 'pw-a');
  const answers = new Collector('answers');
  await status(statuses, /^connected/);
  const tails = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'tails', password: USERS.tails, ca: fs.readFileSync(pki.ca.cert), reconnectPeriod: 0 });
  try {
    const sent = frame('gw-a', 200);
    helper.getNode('tx').receive({ payload: sent });
    const link = await edgeLink();
    await until(() => link.stats().inflight === 1);
    const f = decodeFrame(sent);
    const stale = encodeFrame({ ...decodeFrame(resultFor(sent)), timestampMs: f.timestampMs - 1000 }); // right seq and boot, not this frame's
    await tails.publishAsync(MODEL_RESULTS, Buffer.from('not a frame'), { qos: 1 });
    await tails.publishAsync(MODEL_RESULTS, stale, { qos: 1 });
    await until(() => link.stats().malformedAnswers === 1 && link.stats().refusedAnswers === 1);
    assert.equal(answers.messages.length, 0, 'neither is emitted as the answer');
    assert.equal(link.outbox.size, 1, 'the frame is still pending');
    const warnings = helper.log().args.map(([e]) => e).filter((e) => e.level === 30).map((e) => String(e.msg));
    assert.ok(warnings.some((w) => /refused a malformed message on split\/gw-a\/0123456789abcdef\/results: an answer that does not parse: BAD_MAGIC/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /refused an answer on split\/gw-a\/.*seq 200 .*timestampMs/.test(w)), warnings.join('\n'));
    for (let i = 0; i < 40 && (await metric('split_dnn_refused_answers_total')) === before.refused; i++) await sleep(100); // split-stats reads the link every 250 ms
    assert.equal(await metric('split_dnn_parse_errors_total'), before.parse + 1, 'counted once');
    assert.equal(await metric('split_dnn_refused_answers_total'), before.refused + 1, 'counted once');

    await tails.publishAsync(MODEL_RESULTS, resultFor(sent), { qos: 1 });
    const [answer] = await answers.wait(1);
    assert.equal((answer.frame as { seq: number }).seq, 200);
    assert.equal(link.outbox.size, 0);
  } finally {
    await tails.endAsync();
  }
});
