// A locked-down broker: mosquitto with TLS from a CA this test makes with openssl, a
// password file and a per-gateway ACL. The gateway's link (split-link + mqtt-transmit in
// node-red-node-test-helper) verifies the broker on every connect, stays inside its own
// topics and says clearly why it is refused.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as mqtt from 'mqtt';
import { helper, startRed, stopRed, loadFlow, Collector, tab, catcher } from './support/red';
import { startMosquitto, Mosquitto } from './support/mosquitto';
import { makeCa, serverCert, KeyPair } from './support/tls';
import { tempDir } from './support/paths';
import { sleep } from './support/faults';
import { encodeFrame } from '../lib/wire';

const USERS = { 'gw-a': 'pw-a', 'gw-b': 'pw-b', tails: 'pw-tails' };
// Gateways: their own topics only (MQTT username = gateway id). Tails: every gateway's frames and answers.
const ACL = `pattern write split/%u/+/features
pattern write split/%u/state
pattern read split/%u/+/results
user tails
topic read split/+/+/features
topic write split/+/+/results
topic read split/+/+/results
topic read split/+/state
`;

let pki: { ca: KeyPair; rogue: KeyPair; genuine: KeyPair; impostor: KeyPair };
let broker: Mosquitto;
before(async () => {
  const dir = tempDir('pki');
  const ca = makeCa(dir, 'ca');
  const rogue = makeCa(dir, 'rogue-ca');
  pki = { ca, rogue, genuine: serverCert(dir, ca, 'broker'), impostor: serverCert(dir, rogue, 'impostor') };
  broker = await startMosquitto({ users: USERS, acl: ACL, tls: { certfile: pki.genuine.cert, keyfile: pki.genuine.key } });
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
    { id: 'tx', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [[]] },
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

/** A client of this broker that records the topics it receives. */
async function listener(user: string, topic: string, ca = pki.ca): Promise<{ topics: string[]; client: mqtt.MqttClient }> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: user, password: USERS[user as keyof typeof USERS], ca: fs.readFileSync(ca.cert), reconnectPeriod: 0 });
  const topics: string[] = [];
  client.on('message', (t) => topics.push(t));
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
    assert.match(await status(statuses, /certificate|issuer/i), /disconnected|connecting/);
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
