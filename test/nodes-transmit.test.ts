// Node ids here never equal a property value (such as role 'edge'): the test flows have no
// x/y, so Node-RED would take the node for a config node that the value refers to.
// mqtt-transmit on both ends of a real (aedes) broker: frames out, answers back, and
// nothing lost while the broker is away; bottleneck-encode's rate `auto` following it.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE, tempDir } from './support/paths';
import { featuresFrame } from './support/frames';
import { ModelRuntime, readSamples, sampleImage } from '../lib/model';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { CloudLink } from '../lib/link/cloud-link';
import { resultFor } from './support/answers';

let rt: ModelRuntime;
let broker: EmbeddedBroker;
before(async () => { rt = await ModelRuntime.open(BUNDLE, { workers: 1 }); broker = await startEmbeddedBroker(0); await startRed(); });
after(async () => { await rt.close(); await broker.close(); await stopRed(); });
afterEach(() => helper.unload());

const linkNode = (url: string, outboxDir = '') => ({
  id: 'link', type: 'split-link', broker: url, protocol: '4', gateway: 'gw-t', group: '', verifyServer: true,
  outboxDir, window: '64', resendAfter: '5',
});

function loopFlow(url: string, outboxDir = '') {
  return [tab, modelNode(BUNDLE), linkNode(url, outboxDir),
    { id: 'tx-edge', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [['results']] },
    { id: 'tx-cloud', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'cloud', wires: [['tail']] },
    { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model', wires: [['tx-cloud']] },
    { id: 'results', type: 'helper', z: 'f1' }, ...catcher];
}

const connected = async (id: string) => {
  const link = await (helper.getNode('link') as unknown as { edge(): Promise<{ stats(): { state: string } }>; cloud(): Promise<{ stats(): { state: string } }> })[id === 'edge' ? 'edge' : 'cloud']();
  for (let i = 0; i < 200 && link.stats().state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(link.stats().state, 'connected');
};

test('mqtt-transmit: every frame sent from the edge comes back as one result', async () => {
  await loadFlow(loopFlow(broker.url));
  await modelReady();
  await connected('edge');
  await connected('cloud');
  const results = new Collector('results');
  for (let i = 0; i < 20; i++) helper.getNode('tx-edge').receive({ payload: await featuresFrame(rt, i, i % rt.manifest.rates.length, i, 'gw-t'), label: i });
  const msgs = await results.wait(20);
  const seqs = msgs.map((m) => (m.frame as { seq: number }).seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i));
  for (const m of msgs) {
    const p = m.payload as { source: string; label: string };
    assert.equal(p.source, 'cloud');
    assert.equal(m.label, (m.frame as { seq: number }).seq, 'the label sent with a frame comes back with its result');
  }
});

test('mqtt-transmit: frames accepted while the broker is down are delivered when it returns', async () => {
  const down = await startEmbeddedBroker(0);
  const port = down.port;
  const dir = tempDir('outbox');
  await loadFlow(loopFlow(`mqtt://127.0.0.1:${port}`, dir));
  await modelReady();
  await connected('edge');
  await down.close();
  const results = new Collector('results');
  const caught = new Collector('caught');
  for (let i = 0; i < 30; i++) helper.getNode('tx-edge').receive({ payload: await featuresFrame(rt, i, 0, 100 + i, 'gw-t') });
  helper.getNode('tx-edge').receive({ payload: 'not a frame' });
  await caught.wait(1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(results.messages.length, 0);
  const back = await startEmbeddedBroker(port);
  try {
    const msgs = await results.wait(30, 30_000);
    assert.equal(new Set(msgs.map((m) => (m.frame as { seq: number }).seq)).size, 30);
  } finally {
    await helper.unload();
    await back.close();
  }
});

test('bottleneck-encode with rate auto follows the link: down while answers wait, back up once they flow', async (t) => {
  await loadFlow([tab, modelNode(BUNDLE), linkNode(broker.url),
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['enc']] },
    { id: 'enc', type: 'bottleneck-encode', z: 'f1', model: 'model', rate: 'auto', targetMs: '200', gateway: 'gw-t', link: 'link', wires: [['tx-edge', 'sent']] },
    { id: 'tx-edge', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [[]] },
    { id: 'sent', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  await connected('edge');
  // A cloud that holds its answers until told to answer.
  const cloud = await CloudLink.open({ settings: { url: broker.url, protocolVersion: 4 }, group: null });
  t.after(() => cloud.close());
  let answering = false;
  const held: Buffer[] = [];
  const answer = (p: Buffer) => cloud.reply(resultFor(p));
  cloud.on('frame', (p: Buffer) => (answering ? answer(p) : held.push(p)));
  for (let i = 0; i < 100 && !cloud.connected; i++) await new Promise((r) => setTimeout(r, 25));
  const sent = new Collector('sent');
  const set = await readSamples(rt.bundle);
  const top = rt.manifest.rates.length - 1;
  const feed = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end;) {
      helper.getNode('head').receive({ payload: Buffer.from(sampleImage(set, sent.messages.length % 100)) });
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const levels = () => sent.messages.map((m) => (m.frame as { rate: number; auto: boolean })).filter((f) => f.auto).map((f) => f.rate);
  await feed(2000);
  const waiting = levels();
  assert.equal(waiting[0], top, 'it starts at the largest level');
  assert.equal(waiting.at(-1), 0, `no answers for 2 s against a 200 ms target: down to level 0 (${waiting.join(',')})`);
  answering = true;
  held.splice(0).forEach(answer);
  const before = sent.messages.length;
  await feed(7000);
  const after = levels().slice(before);
  assert.ok(Math.max(...after) >= 1, `answered within the target again, it probes up: ${after.join(',')}`);
});
