// The all-in-one flow as shipped, on the embedded aedes broker: 500 sample frames in, all
// classified at the edge or in the cloud, with the manifest's accuracy, exit rate and bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as mqtt from 'mqtt';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady } from './support/red';
import { BUNDLE, tempDir } from './support/paths';
import { readFlow, patch, asHelper, tap, withoutDashboard } from './support/flows';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { loadBundle, Manifest } from '../lib/model';
import { decodeFrame, framesOf } from '../lib/wire';
import { fleetOfProcess } from '../lib/metrics';
import { parsePrometheus, sampleValue } from './support/prometheus';

const FRAMES = 500;
let broker: EmbeddedBroker;
let manifest: Manifest;

before(async () => {
  broker = await startEmbeddedBroker(0);
  manifest = (await loadBundle(BUNDLE)).manifest;
  Object.assign(process.env, {
    SPLIT_DNN_BUNDLE: BUNDLE, SPLIT_DNN_BROKER: broker.url, SPLIT_DNN_MQTT_VERSION: '4',
    SPLIT_DNN_GATEWAY: 'gw-e2e', SPLIT_DNN_FPS: '100', SPLIT_DNN_CA_FILE: '',
  });
  await startRed();
});
after(async () => { await stopRed(); await broker.close(); });

test(`all-in-one flow: ${FRAMES} frames in, all classified, accuracy, exits and bytes as the manifest says`, async () => {
  const top = manifest.rates.length - 1;
  let flow = withoutDashboard(readFlow('all-in-one.json'));
  flow = patch(flow, 'edge-camera', { autostart: false });
  flow = patch(flow, 'edge-encode', { rate: String(top) });
  flow = patch(flow, 'cfg-link', { outboxDir: tempDir('outbox') });
  flow = asHelper(flow, 'edge-results');
  flow.push({ id: 'encoded', type: 'helper', z: 'tab-demo', wires: [] });
  flow = tap(flow, 'edge-encode', 'encoded');
  await loadFlow(flow);
  await modelReady('cfg-model');

  // What really crosses the broker.
  const wire = new Map<number, number>();
  const spy = mqtt.connect(broker.url, { protocolVersion: 4 });
  await new Promise<void>((resolve) => spy.on('connect', () => spy.subscribe('split/+/+/features', { qos: 1 }, () => resolve())));
  let messages = 0;
  spy.on('message', (_t, payload) => {
    messages++;
    for (const frame of framesOf(payload)) wire.set(decodeFrame(frame).seq, frame.length);
  });
  // The transmit nodes must be connected before frames flow, or the first wait is for a resend.
  const link = await (helper.getNode('cfg-link') as unknown as { edge(): Promise<{ stats(): { state: string } }> }).edge();
  for (let i = 0; i < 200 && link.stats().state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 25));

  const results = new Collector('edge-results');
  const encoded = new Collector('encoded');
  helper.getNode('edge-camera').receive({ payload: FRAMES });
  const msgs = await results.wait(FRAMES, 120_000);
  await new Promise((r) => setTimeout(r, 300));
  spy.end(true);

  assert.equal(msgs.length, FRAMES, 'no extra (duplicate) results');
  const indices = new Set(msgs.map((m) => m.sampleIndex));
  assert.equal(indices.size, FRAMES, 'every frame classified exactly once');
  const edge = msgs.filter((m) => (m.payload as { source: string }).source === 'edge');
  const cloud = msgs.filter((m) => (m.payload as { source: string }).source === 'cloud');
  assert.equal(edge.length + cloud.length, FRAMES);
  assert.ok(cloud.every((m) => typeof (m.payload as { index: number }).index === 'number'), 'no cloud errors');

  const correct = msgs.filter((m) => (m.payload as { index: number }).index === m.label).length;
  const accuracy = correct / FRAMES;
  const exitRate = edge.length / FRAMES;
  const expected = (manifest.measured as { sampleSet: { count: number; rates: { level: number; pipeline: { accuracy: number; exitRate: number } }[] }[] })
    .sampleSet.find((s) => s.count === FRAMES)!.rates[top].pipeline;
  assert.ok(Math.abs(accuracy - expected.accuracy) <= 0.01, `accuracy ${accuracy} vs manifest ${expected.accuracy}`);
  assert.ok(Math.abs(exitRate - expected.exitRate) <= 0.01, `exit rate ${exitRate} vs manifest ${expected.exitRate}`);
  // And the exit rate agrees with the 10k calibration table within sampling error.
  const calib = manifest.exit!.calibration.find((c) => Math.abs(c.threshold - manifest.exit!.defaultThreshold) < 1e-9)!;
  const sigma = Math.sqrt((calib.exitRate * (1 - calib.exitRate)) / FRAMES);
  assert.ok(Math.abs(exitRate - calib.exitRate) <= 4 * sigma + 0.005, `exit rate ${exitRate} vs calibration ${calib.exitRate}`);

  // Bytes: what the encoder produced is what crossed the broker, frame by frame (in
  // batches when the frames came faster than the broker acknowledged them).
  assert.ok(messages >= 1 && messages <= cloud.length, `${messages} messages for ${cloud.length} frames`);
  assert.equal(encoded.messages.length, cloud.length);
  for (const m of encoded.messages) {
    const f = m.frame as { seq: number; bytes: number; payloadBytes: number };
    assert.equal(wire.get(f.seq), f.bytes, `frame ${f.seq}`);
    assert.equal(decodeFrame(m.payload as Buffer).payload.length, f.payloadBytes);
  }

  // split-stats counted the same frames from the real messages (the flow's /metrics).
  const m = parsePrometheus(await fleetOfProcess().registry.metrics());
  const v = (name: string, labels: Record<string, string>) => sampleValue(m, name, labels) ?? 0;
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-e2e', path: 'exit' }), edge.length);
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-e2e', path: 'forward' }), cloud.length);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-e2e', source: 'edge', outcome: 'correct' })
    + v('split_dnn_results_total', { gateway: 'gw-e2e', source: 'cloud', outcome: 'correct' }), correct);
  assert.equal(v('split_dnn_transmitted_bytes_total', { gateway: 'gw-e2e' }), encoded.messages.reduce((n, e) => n + (e.frame as { bytes: number }).bytes, 0));
  assert.equal(v('split_dnn_cloud_frames_total', { gateway: 'gw-e2e' }), cloud.length);
  assert.equal(v('split_dnn_tail_results_total', { gateway: 'gw-e2e', outcome: 'ok' }), cloud.length);
});
