// Over-the-air updates in a running flow: a gateway and a tail (node-red-node-test-helper)
// on an embedded broker, real onnxruntime, bundles published with BundlePublisher exactly
// as `split-dnn publish-bundle` does. One flow serves the tests in order, as a gateway
// would live through successive updates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import { helper, startRed, stopRed, ALL_NODES, Collector } from './support/red';
import { tempDir } from './support/paths';
import { makeVersion, newKey, shiftLabels, flipByte, modelIdOf, TestKey } from './support/ota-bundles';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { BundlePublisher, UpdateReport } from '../lib/ota/publisher';
import type { ModelSlot } from '../lib/model';


let broker: EmbeddedBroker;
let key: TestKey;
let v1Edge: string;
let v1Cloud: string;
let sent: Collector;
let results: Collector;
let edgeReports: Collector;
let tailReports: Collector;

const link = (id: string, gateway: string, url: string) => ({ id, type: 'split-link', broker: url, protocol: '4', gateway, group: '', verifyServer: true, outboxDir: '', window: '64', resendAfter: '3', keepalive: '30' });

function flow(url: string) {
  return [
    { id: 'f1', type: 'tab', label: 'ota' },
    { id: 'model-edge', type: 'split-model', bundle: v1Edge, workers: '1' },
    { id: 'model-cloud', type: 'split-model', bundle: v1Cloud, maxVersions: '4', workers: '1' },
    link('link-edge', 'gw1', url), link('link-cloud', 'tail1', url),
    { id: 'camera', type: 'sample-source', z: 'f1', model: 'model-edge', fps: '40', limit: '0', autostart: false, wires: [['head']] },
    { id: 'head', type: 'split-head', z: 'f1', model: 'model-edge', wires: [['gate']] },
    { id: 'gate', type: 'early-exit-gate', z: 'f1', model: 'model-edge', mode: 'threshold', threshold: '1.01', wires: [[], ['encode']] },
    { id: 'encode', type: 'bottleneck-encode', z: 'f1', model: 'model-edge', rate: '0', link: 'link-edge', wires: [['edge-tx', 'sent']] },
    { id: 'edge-tx', type: 'mqtt-transmit', z: 'f1', link: 'link-edge', role: 'edge', wires: [['results']] },
    { id: 'cloud-tx', type: 'mqtt-transmit', z: 'f1', link: 'link-cloud', role: 'cloud', wires: [['tail']] },
    { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model-cloud', wires: [['cloud-tx']] },
    { id: 'ota-edge', type: 'split-ota', z: 'f1', model: 'model-edge', link: 'link-edge', role: 'gateway', groups: 'fleet', probationAnswers: '20', probationSeconds: '60', maxErrors: '3', wires: [['edge-reports']] },
    { id: 'ota-tail', type: 'split-ota', z: 'f1', model: 'model-cloud', link: 'link-cloud', role: 'tail', groups: 'tails', wires: [['tail-reports']] },
    { id: 'sent', type: 'helper', z: 'f1' }, { id: 'results', type: 'helper', z: 'f1' },
    { id: 'edge-reports', type: 'helper', z: 'f1' }, { id: 'tail-reports', type: 'helper', z: 'f1' },
  ];
}

const slotOf = (id: string) => (helper.getNode(id) as unknown as { slot: ModelSlot }).slot;
const frameOf = (m: NodeMessage) => m.frame as { seq: number; modelId: string; gateway: string };

function waitReport(c: Collector, modelId: string, states: string[], timeoutMs = 60_000): Promise<UpdateReport> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const r = c.messages.map((m) => m.payload as UpdateReport).find((p) => p.modelId === modelId && states.includes(p.state));
      if (r) return resolve(r);
      if (Date.now() - started > timeoutMs) return reject(new Error(`no ${states.join('/')} report for ${modelId}: ${JSON.stringify(c.messages.map((m) => m.payload).slice(-5))}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

async function publish(dir: string, target: { gateways?: string[]; groups?: string[] }): Promise<BundlePublisher> {
  return BundlePublisher.open({ settings: { url: broker.url, protocolVersion: 4 }, bundleDir: dir, ...target });
}

/**
 * After the camera stops, frames already inside head/encode still reach `sent`: wait until
 * no new frame has appeared for a while and every frame sent has its answer.
 */
async function drained(): Promise<void> {
  for (;;) {
    const n = sent.messages.length;
    await results.wait(n, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    if (sent.messages.length === n) return;
  }
}

/** Sends `n` frames and waits until every frame sent so far has its answer. */
async function framesRoundTrip(n: number): Promise<void> {
  const want = sent.messages.length + n;
  helper.getNode('camera').receive({ payload: n });
  await sent.wait(want);
  await results.wait(want, 30_000);
}

before(async () => {
  key = newKey();
  v1Edge = await makeVersion('1.0.0-ota', key);
  v1Cloud = tempDir('bundle-cloud');
  require('node:fs').cpSync(v1Edge, v1Cloud, { recursive: true });
  broker = await startEmbeddedBroker();
  await startRed();
  helper.settings({ userDir: tempDir('userdir'), splitDnn: { otaPublicKey: key.publicPem } });
  await helper.load(ALL_NODES, flow(broker.url), {});
  await Promise.all(['model-edge', 'model-cloud'].map((id) => (helper.getNode(id) as unknown as { runtime: Promise<unknown> }).runtime));
  sent = new Collector('sent');
  results = new Collector('results');
  edgeReports = new Collector('edge-reports');
  tailReports = new Collector('tail-reports');
  await new Promise((r) => setTimeout(r, 500)); // links connect
  await framesRoundTrip(5);
});

after(async () => {
  await helper.unload();
  await stopRed();
  await broker.close();
});

test('a signed update applied while frames flow: tails first, then the gateway; 0 frames lost, the switch visible in the model id', async () => {
  const v1 = modelIdOf(v1Edge);
  const v2dir = await makeVersion('2.0.0-ota', key);
  const v2 = modelIdOf(v2dir);
  assert.notEqual(v1, v2);
  const toTails = await publish(v2dir, { groups: ['tails'] });
  await waitReport(tailReports, v2, ['added']);
  assert.deepEqual(slotOf('model-cloud').ids().sort(), [v1, v2].sort());
  await toTails.withdraw();
  await toTails.close();

  const before = sent.messages.length;
  helper.getNode('camera').receive({ payload: 'start' });
  const toFleet = await publish(v2dir, { groups: ['fleet'] });
  const switched = await waitReport(edgeReports, v2, ['switched']);
  assert.equal(switched.from, v1);
  const committed = await waitReport(edgeReports, v2, ['committed', 'rolled-back']);
  assert.equal(committed.state, 'committed', JSON.stringify(committed));
  helper.getNode('camera').receive({ payload: 'stop' });
  await toFleet.withdraw();
  await toFleet.close();
  await drained();

  const during = sent.messages.slice(before).map(frameOf);
  const answered = new Map(results.messages.map((m) => [frameOf(m).seq, m]));
  const lost = during.filter((f) => !answered.has(f.seq));
  const refused = results.messages.filter((m) => (m.payload as { error?: string }).error);
  const firstV2 = during.findIndex((f) => f.modelId === v2);
  console.log(JSON.stringify({ framesDuringUpdate: during.length, onV1: firstV2, onV2: during.length - firstV2, lost: lost.length, refused: refused.length }));
  assert.equal(lost.length, 0, `${lost.length} frames never answered`);
  assert.equal(refused.length, 0, `the tail refused ${refused.length} frames`);
  assert.ok(firstV2 > 0, 'frames ran on v1 before the switch');
  // Atomic between two frames: once a frame carries v2, every later one does.
  assert.ok(during.slice(firstV2).every((f) => f.modelId === v2), 'no v1 frame after the first v2 frame');
  assert.ok(during.length - firstV2 >= 20, 'probation saw 20 answers on v2');
  for (const f of during) assert.equal(frameOf(answered.get(f.seq)!).modelId, f.modelId, 'each answer names the model its frame was coded with');
  assert.equal(slotOf('model-edge').current.modelId, v2);
});

test('a tampered file and a wrong signature are refused; the running bundle keeps serving', async () => {
  const running = slotOf('model-edge').current.modelId;
  const tampered = await makeVersion('3.0.0-tampered', key);
  flipByte(tampered, 'head.onnx');
  const p1 = await publish(tampered, { gateways: ['gw1'] });
  const r1 = await waitReport(edgeReports, modelIdOf(tampered), ['refused', 'committed', 'switched']);
  assert.equal(r1.state, 'refused');
  assert.equal(r1.step, 'hashes');
  assert.match(String(r1.reason), /head\.onnx has sha256 .* \(altered or corrupted\)/);
  await p1.withdraw(); await p1.close();

  const otherKey = newKey();
  const wrongKey = await makeVersion('3.0.1-wrong-key', otherKey);
  const p2 = await publish(wrongKey, { gateways: ['gw1'] });
  const r2 = await waitReport(edgeReports, modelIdOf(wrongKey), ['refused', 'committed', 'switched']);
  assert.equal(r2.state, 'refused');
  assert.equal(r2.step, 'signature');
  assert.match(String(r2.reason), new RegExp(`signed by key ${otherKey.keyId}, this gateway trusts key ${key.keyId} only`));
  await p2.withdraw(); await p2.close();

  // A manifest altered after signing (its hash edited to match a changed file) fails the signature itself.
  const forged = await makeVersion('3.0.2-forged', key);
  const fs = require('node:fs') as typeof import('node:fs');
  const m = JSON.parse(fs.readFileSync(`${forged}/manifest.json`, 'utf8'));
  m.description = 'forged';
  fs.writeFileSync(`${forged}/manifest.json`, JSON.stringify(m));
  const p3 = await publish(forged, { gateways: ['gw1'] });
  const r3 = await waitReport(edgeReports, modelIdOf(forged), ['refused', 'committed', 'switched']);
  assert.equal(r3.state, 'refused');
  assert.match(String(r3.reason), /signature does not match manifest\.json/);
  await p3.withdraw(); await p3.close();

  assert.equal(slotOf('model-edge').current.modelId, running);
  const from = results.messages.length;
  await framesRoundTrip(10);
  const fresh = results.messages.slice(from);
  assert.ok(fresh.every((m) => frameOf(m).modelId === running && !(m.payload as { error?: string }).error));
});

test('a bundle that fails its sample check is refused before it serves a frame', async () => {
  const running = slotOf('model-edge').current.modelId;
  const bad = await makeVersion('4.0.0-bad-labels', key, shiftLabels);
  const p = await publish(bad, { gateways: ['gw1'] });
  const r = await waitReport(edgeReports, modelIdOf(bad), ['refused', 'switched']);
  assert.equal(r.state, 'refused');
  assert.equal(r.step, 'sample-check');
  assert.match(String(r.reason), /sample check failed: rate \d+: [\d.]+% on \d+ samples, needs [\d.]+%/);
  await p.withdraw(); await p.close();
  assert.equal(slotOf('model-edge').current.modelId, running);
  assert.ok(!slotOf('model-edge').ids().includes(modelIdOf(bad)), 'the refused version is unloaded');
});

test('a bundle that errors after the switch (the tails do not know it) is rolled back automatically', async () => {
  const running = slotOf('model-edge').current.modelId;
  const v5 = await makeVersion('5.0.0-gateway-only', key);
  const id5 = modelIdOf(v5);
  const p = await publish(v5, { gateways: ['gw1'] });
  await waitReport(edgeReports, id5, ['switched']);
  const from = sent.messages.length;
  helper.getNode('camera').receive({ payload: 'start' });
  const r = await waitReport(edgeReports, id5, ['rolled-back', 'committed'], 30_000);
  helper.getNode('camera').receive({ payload: 'stop' });
  await p.withdraw(); await p.close();
  assert.equal(r.state, 'rolled-back');
  assert.match(String(r.reason), /3 errors on probation, the last: frame is for model/);
  assert.equal(slotOf('model-edge').current.modelId, running);
  await drained();
  const after = sent.messages.slice(from).map(frameOf);
  const lastV5 = after.map((f) => f.modelId).lastIndexOf(id5);
  console.log(JSON.stringify({ framesOnV5: after.filter((f) => f.modelId === id5).length, framesAfterRollback: after.length - lastV5 - 1 }));
  assert.ok(after.slice(lastV5 + 1).every((f) => f.modelId === running), 'every frame after the rollback runs the old version');
  await framesRoundTrip(5);
  const last = results.messages.slice(-5);
  assert.ok(last.every((m) => frameOf(m).modelId === running && !(m.payload as { error?: string }).error));
});
