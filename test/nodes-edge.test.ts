// split-head, early-exit-gate and bottleneck-encode alone, through node-red-node-test-helper.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE } from './support/paths';
import { ModelRuntime, readSamples, sampleImage, preprocessPixels } from '../lib/model';
import { decodeFrame } from '../lib/wire';
import { RateCodec } from '../lib/codec/rate-codec';

let rt: ModelRuntime;
before(async () => { rt = await ModelRuntime.open(BUNDLE, { workers: 1 }); await startRed(); });
after(async () => { await rt.close(); await stopRed(); });
afterEach(() => helper.unload());

const pixels = async (i: number) => Buffer.from(sampleImage(await readSamples(rt.bundle), i));

test('split-head: pixels in, the split tensor and exit logits out, equal to a direct run', async () => {
  await loadFlow([tab, modelNode(BUNDLE), { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  const out = new Collector('out');
  const caught = new Collector('caught');
  helper.getNode('head').receive({ payload: await pixels(3), label: 7 });
  const [msg] = await out.wait(1);
  const direct = await rt.head(preprocessPixels(rt.manifest, await pixels(3), 1), 1);
  const features = msg.features as { data: Float32Array; shape: number[] };
  assert.deepEqual(features.shape, rt.manifest.split.shape);
  assert.deepEqual(Array.from(features.data), Array.from(direct.features));
  assert.deepEqual(Array.from(msg.exitLogits as Float32Array), Array.from(direct.exitLogits!));
  assert.equal(msg.label, 7, 'the rest of the message travels on');
  assert.equal(msg.modelId, rt.modelId);
  assert.equal(caught.messages.length, 0);
});

test('split-head: a wrong payload is reported and the next message still works', async () => {
  await loadFlow([tab, modelNode(BUNDLE), { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  const out = new Collector('out');
  const caught = new Collector('caught');
  const head = helper.getNode('head');
  head.receive({ payload: 'not an image' });
  head.receive({ payload: Buffer.alloc(100) });
  head.receive({ payload: new Float32Array(5) });
  head.receive({ payload: await pixels(0) });
  const errors = await caught.wait(3);
  assert.match(String((errors[0].error as { message: string }).message), /payload must be 1×28×28 uint8 pixels/);
  assert.match(String((errors[1].error as { message: string }).message), /expected 1 × 1×28×28 = 784 uint8 pixels, got 100/);
  assert.match(String((errors[2].error as { message: string }).message), /Float32Array payload has 5 values/);
  await out.wait(1);
});

test('split-model: a missing bundle is refused with a status that says so, without crashing', async () => {
  await loadFlow([tab, modelNode('/nonexistent/bundle'), { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [[]] }, ...catcher]);
  await assert.rejects(modelReady(), /no manifest\.json/);
  const caught = new Collector('caught');
  helper.getNode('head').receive({ payload: Buffer.alloc(784) });
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /no manifest\.json/);
});

function gateFlow(extra: object) {
  return [tab, modelNode(BUNDLE),
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['gate']] },
    { id: 'gate', type: 'early-exit-gate', z: 'f1', model: 'model', mode: 'threshold', threshold: '0.8', targetAccuracy: '0.9', ...extra, wires: [['exited'], ['forwarded']] },
    { id: 'exited', type: 'helper', z: 'f1' }, { id: 'forwarded', type: 'helper', z: 'f1' }, ...catcher];
}

test('early-exit-gate: threshold 0 exits everything, msg.threshold 1 forwards everything', async () => {
  await loadFlow(gateFlow({ threshold: '0' }));
  await modelReady();
  const exited = new Collector('exited');
  const forwarded = new Collector('forwarded');
  for (let i = 0; i < 5; i++) helper.getNode('head').receive({ payload: await pixels(i) });
  const msgs = await exited.wait(5);
  const p = msgs[0].payload as { label: string; index: number; confidence: number; source: string };
  assert.equal(p.source, 'edge');
  assert.equal(p.label, rt.manifest.labels[p.index]);
  for (let i = 0; i < 5; i++) helper.getNode('head').receive({ payload: await pixels(i), threshold: 1 });
  await forwarded.wait(5);
  assert.equal(exited.messages.length, 5);
});

test('early-exit-gate: target accuracy picks the calibrated threshold; a control message changes it', async () => {
  const table = rt.manifest.exit!.calibration;
  const target = table[Math.floor(table.length / 2)].accuracy;
  await loadFlow(gateFlow({ mode: 'accuracy', targetAccuracy: String(target) }));
  await modelReady();
  const exited = new Collector('exited');
  const forwarded = new Collector('forwarded');
  const caught = new Collector('caught');
  helper.getNode('head').receive({ payload: await pixels(0) });
  const [first] = await new Promise<object[]>((resolve) => setTimeout(() => resolve([...exited.messages, ...forwarded.messages]), 500));
  const expected = table.filter((c) => c.accuracy >= target).sort((a, b) => a.threshold - b.threshold)[0].threshold;
  assert.equal((first as { exit: { threshold: number } }).exit.threshold, expected);
  helper.getNode('gate').receive({ threshold: 0 });
  helper.getNode('gate').receive({ threshold: 7 });
  helper.getNode('head').receive({ payload: await pixels(1) });
  const msgs = await exited.wait(exited.messages.length + 1);
  assert.equal((msgs.at(-1)!.exit as { threshold: number }).threshold, 0);
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /msg\.threshold must be a number from 0 to 1/);
});

/** split-head → bottleneck-encode (rate 1, no link) → out; what comes out and what is caught. */
async function encodeFlow(): Promise<{ out: Collector; caught: Collector }> {
  await loadFlow([tab, modelNode(BUNDLE),
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['enc']] },
    { id: 'enc', type: 'bottleneck-encode', z: 'f1', model: 'model', rate: '1', gateway: 'gw-test', link: '', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  return { out: new Collector('out'), caught: new Collector('caught') };
}

test('bottleneck-encode: a fixed rate gives a valid frame with the coder\'s bytes; msg.rate overrides', async () => {
  const { out, caught } = await encodeFlow();
  helper.getNode('head').receive({ payload: await pixels(4), capturedAt: 1234 });
  helper.getNode('head').receive({ payload: await pixels(4), rate: 0 });
  helper.getNode('enc').receive({ features: { data: new Float32Array(3) } });
  helper.getNode('head').receive({ payload: await pixels(4), rate: 99 });
  // The two head runs may finish in either order on a loaded machine: tell them apart by capture time.
  const [a, b] = (await out.wait(2)).sort((x, y) => (y.capturedAt === 1234 ? 1 : 0) - (x.capturedAt === 1234 ? 1 : 0));
  const fa = decodeFrame(a.payload as Buffer);
  const fb = decodeFrame(b.payload as Buffer);
  assert.equal(fa.kind, 'features');
  assert.equal(fa.rateLevel, 1);
  assert.equal(fb.rateLevel, 0);
  assert.equal(fa.gatewayId, 'gw-test');
  assert.equal(fa.modelId, rt.modelId);
  assert.equal(fa.timestampMs, 1234);
  assert.equal(Math.abs(fb.seq - fa.seq), 1);
  // Same bytes as coding the encoder's output directly.
  const direct = await rt.head(preprocessPixels(rt.manifest, await pixels(4), 1), 1);
  const latent = await rt.encode(1, direct.features, 1);
  assert.deepEqual(Buffer.from(fa.payload), Buffer.from(new RateCodec(rt.manifest.rates[1]).encode(latent).payload));
  assert.equal((a.frame as { bytes: number }).bytes, (a.payload as Buffer).length);
  const errors = await caught.wait(2);
  const texts = errors.map((e) => String((e.error as { message: string }).message)).sort();
  assert.match(texts[0], /msg\.features\.data must be a Float32Array/);
  assert.match(texts[1], /msg\.rate must be "auto" or a rate level/);
});

test('bottleneck-encode: a control message (no features) sets the rate for good: a level, then auto', async () => {
  const { out, caught } = await encodeFlow();
  const top = rt.manifest.rates.length - 1;
  /** The next frame's rate and whether the controller chose it. */
  const next = async (extra: object = {}) => {
    const count = out.messages.length + 1;
    helper.getNode('head').receive({ payload: await pixels(count), ...extra });
    const f = (await out.wait(count)).at(-1)!.frame as { rate: number; auto: boolean };
    return [f.rate, f.auto];
  };
  assert.deepEqual(await next(), [1, false]);
  helper.getNode('enc').receive({ rate: 0 });
  assert.deepEqual(await next(), [0, false]);
  assert.deepEqual(await next({ rate: top }), [top, false], 'msg.rate still overrides one frame');
  assert.deepEqual(await next(), [0, false], '... without changing the node');
  helper.getNode('enc').receive({ rate: 'auto' });
  assert.deepEqual(await next(), [top, true], 'auto with no link starts at the largest level');
  helper.getNode('enc').receive({ rate: top + 1 });
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /msg\.rate must be "auto" or a rate level/);
  assert.deepEqual(await next(), [top, true], 'a refused control message changes nothing');
});

test('sample-source: a count sends that many labelled frames; bad commands are reported', async () => {
  await loadFlow([tab, modelNode(BUNDLE), { id: 'cam', type: 'sample-source', z: 'f1', model: 'model', fps: '10', limit: '0', autostart: false, wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  const out = new Collector('out');
  const caught = new Collector('caught');
  const set = await readSamples(rt.bundle);
  helper.getNode('cam').receive({ payload: 3 });
  helper.getNode('cam').receive({ payload: 'jump' });
  const msgs = await out.wait(3);
  assert.deepEqual(msgs.map((m) => m.sampleIndex), [0, 1, 2]);
  assert.deepEqual(msgs.map((m) => m.label), [set.labels[0], set.labels[1], set.labels[2]]);
  assert.deepEqual(msgs[1].payload, Buffer.from(sampleImage(set, 1)));
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /"start", "stop", "pause", "resume", "reset" or a count/);
});
