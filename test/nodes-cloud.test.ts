// tail-infer alone, through node-red-node-test-helper: decode, dedupe, refuse.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE } from './support/paths';
import { featuresFrame } from './support/frames';
import { ModelRuntime, readSamples } from '../lib/model';
import { decodeFrame, encodeFrame } from '../lib/wire';
import { argmax } from '../lib/exit';
import { RateCodec } from '../lib/codec/rate-codec';

let rt: ModelRuntime;
before(async () => { rt = await ModelRuntime.open(BUNDLE, { workers: 1 }); await startRed(); });
after(async () => { await rt.close(); await stopRed(); });
afterEach(() => helper.unload());

const flow = () => [tab, modelNode(BUNDLE), { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model', wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }, ...catcher];

test('tail-infer: a frame gives the same class as the pipeline run directly, as an answer frame', async () => {
  await loadFlow(flow());
  await modelReady();
  const out = new Collector('out');
  const level = rt.manifest.rates.length - 1;
  const frame = await featuresFrame(rt, 5, level, 0);
  helper.getNode('tail').receive({ payload: frame });
  const [msg] = await out.wait(1);
  const f = decodeFrame(frame);
  const latent = new RateCodec(rt.manifest.rates[level]).decode(f.payload);
  const logits = await rt.tail(await rt.decode(level, latent, 1), 1);
  const answer = decodeFrame(msg.payload as Buffer);
  assert.equal(answer.kind, 'result');
  assert.deepEqual([answer.gatewayId, answer.bootId, answer.seq, answer.modelId], [f.gatewayId, f.bootId, f.seq, f.modelId]);
  assert.equal(answer.body!.index, argmax(logits));
  const result = msg.result as { index: number; label: string; source: string; bytes: number };
  assert.equal(result.index, argmax(logits));
  assert.equal(result.label, rt.manifest.labels[result.index]);
  assert.equal(result.source, 'cloud');
  assert.equal(result.bytes, f.payload.length);
  // Ground truth agrees for this sample in the shipped bundle at its largest rate more often
  // than not; the exact check above is what must hold.
  assert.ok((await readSamples(rt.bundle)).labels[5] >= 0);
});

test('tail-infer: a duplicate gets the cached answer again and no second result', async () => {
  await loadFlow(flow());
  await modelReady();
  const out = new Collector('out');
  const frame = await featuresFrame(rt, 1, 0, 10);
  helper.getNode('tail').receive({ payload: frame });
  helper.getNode('tail').receive({ payload: frame });
  const [first, second] = await out.wait(2);
  assert.equal(first.duplicate, undefined);
  assert.equal(second.duplicate, true);
  assert.deepEqual(second.payload, first.payload);
});

test('tail-infer: a frame for another model is answered with an error; a broken frame is reported; the next frame works', async () => {
  await loadFlow(flow());
  await modelReady();
  const out = new Collector('out');
  const caught = new Collector('caught');
  const good = await featuresFrame(rt, 2, 0, 20);
  const f = decodeFrame(good);
  const otherModel = encodeFrame({ ...f, modelId: '0123456789abcdef', seq: 21 });
  const flipped = Buffer.from(good);
  flipped[flipped.length - 9] ^= 0x01;
  const wrongShape = encodeFrame({ ...f, shape: [1, 2, 3], seq: 22 });
  const tail = helper.getNode('tail');
  tail.receive({ payload: otherModel });
  tail.receive({ payload: flipped });
  tail.receive({ payload: wrongShape });
  tail.receive({ payload: 'text' });
  tail.receive({ payload: good });
  const errors = (await caught.wait(4)).map((m) => String((m.error as { message: string }).message));
  assert.ok(errors.some((e) => /frame is for model 0123456789abcdef, this tail runs/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /bad frame: BAD_CRC/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /symbol shape 1x2x3 does not match/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /must be a wire frame/.test(e)), errors.join('\n'));
  const answers = (await out.wait(3)).map((m) => decodeFrame(m.payload as Buffer));
  const refused = answers.find((a) => a.seq === 21)!;
  assert.match(String(refused.body!.error), /another model|frame is for model/);
  const ok = answers.find((a) => a.seq === 20)!;
  assert.equal(typeof ok.body!.index, 'number');
});
