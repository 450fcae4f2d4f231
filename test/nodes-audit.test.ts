// The exit promise in a real Node-RED flow over a real (aedes) broker: audit copies of exited
// frames go to the cloud flagged, the tail answers them, the gate compares, and the answers
// never come out as results; a broker outage pauses the audit without counting evidence.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE } from './support/paths';
import { ModelRuntime, readSamples, sampleImage } from '../lib/model';
import { decodeFrame, FRAME_FLAGS } from '../lib/wire';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { FleetStats } from '../lib/metrics';
import type { PromiseReport } from '../lib/exit';
import { parsePrometheus, sampleValue } from './support/prometheus';
import { shiftImages, seeded } from '../bench/shifts';

let rt: ModelRuntime;
let broker: EmbeddedBroker;
before(async () => { rt = await ModelRuntime.open(BUNDLE, { workers: 1 }); broker = await startEmbeddedBroker(0); await startRed(); });
after(async () => { await rt.close(); await broker.close(); await stopRed(); });
afterEach(() => helper.unload());

const pixels = async (i: number) => Buffer.from(sampleImage(await readSamples(rt.bundle), i));
const promiseGate = (extra: object = {}) => ({
  id: 'gate', type: 'early-exit-gate', z: 'f1', model: 'model', mode: 'promise', threshold: '', targetAccuracy: '0.9',
  epsilon: '0.02', delta: '0.05', auditShare: '0.5', auditBudget: '0', auditRide: '0', loss: 'disagreement', ...extra, wires: [['exited'], ['encode']],
});

function auditFlow(url: string, gate: object = {}) {
  return [tab, modelNode(BUNDLE),
    { id: 'link', type: 'split-link', broker: url, protocol: '4', gateway: 'gw-a', group: '', verifyServer: true, outboxDir: '', window: '64', resendAfter: '5' },
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['gate']] },
    promiseGate(gate),
    { id: 'encode', type: 'bottleneck-encode', z: 'f1', model: 'model', rate: '0', gateway: 'gw-a', link: 'link', targetMs: '', wires: [['tx-edge', 'encoded']] },
    { id: 'tx-edge', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [['results']] },
    { id: 'tx-cloud', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'cloud', wires: [['tail', 'arrived']] },
    { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model', wires: [['tx-cloud', 'answers']] },
    { id: 'encoded', type: 'helper', z: 'f1' }, { id: 'answers', type: 'helper', z: 'f1' },
    { id: 'exited', type: 'helper', z: 'f1' }, { id: 'results', type: 'helper', z: 'f1' }, { id: 'arrived', type: 'helper', z: 'f1' }, ...catcher];
}

const connected = async () => {
  const link = helper.getNode('link') as unknown as { edge(): Promise<{ stats(): { state: string } }>; cloud(): Promise<{ stats(): { state: string } }> };
  for (const end of [await link.edge(), await link.cloud()]) {
    for (let i = 0; i < 200 && end.stats().state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 25));
  }
};
/** The gate's own last status (the helper's spy on status is shared by all nodes). */
const statusText = () => {
  const gate = helper.getNode('gate') as unknown as { status: { getCalls(): { thisValue: unknown; args: [{ text?: string }] }[] } };
  const mine = gate.status.getCalls().filter((c) => c.thisValue === gate);
  return String(mine.at(-1)?.args[0].text ?? '');
};
const until = async (ok: () => boolean, ms = 20_000) => {
  for (const end = Date.now() + ms; Date.now() < end && !ok();) await new Promise((r) => setTimeout(r, 50));
  return ok();
};

test('promise mode: audit copies are answered by the cloud and compared, never emitted as results', async () => {
  await loadFlow(auditFlow(broker.url));
  await modelReady();
  await connected();
  const exited = new Collector('exited');
  const results = new Collector('results');
  const arrived = new Collector('arrived');
  const encoded = new Collector('encoded');
  const answers = new Collector('answers');
  const n = 60;
  for (let i = 0; i < n; i++) helper.getNode('head').receive({ payload: await pixels(i), sampleIndex: i });
  await until(() => exited.messages.length + results.messages.length >= n);
  const audits = () => arrived.messages.filter((m) => ((decodeFrame(m.payload as Buffer).flags ?? 0) & FRAME_FLAGS.audit) !== 0);
  await until(() => /audit \d+\//.test(statusText()) && Number(/audit (\d+)\/(\d+)/.exec(statusText())![2]) === audits().length && audits().length > 0);
  await new Promise((r) => setTimeout(r, 300));
  // Every sample answered exactly once: the exits at the edge, the rest by the cloud.
  const answered = [...exited.messages, ...results.messages].map((m) => m.sampleIndex).sort((a, b) => Number(a) - Number(b));
  assert.deepEqual(answered, Array.from({ length: n }, (_, i) => i));
  for (const m of results.messages) assert.equal((m.payload as { source: string }).source, 'cloud');
  // About half the exits were audited (share 0.5), each flagged on the wire and counted by the gate.
  const a = audits().length;
  assert.ok(a >= exited.messages.length * 0.25 && a <= exited.messages.length, `${a} audits of ${exited.messages.length} exits`);
  const [, disagree, counted] = /audit (\d+)\/(\d+)/.exec(statusText())!.map(Number);
  assert.equal(counted, a, `status ${statusText()}`);
  // The comparison is real: the disagreements counted are those the models give for these samples.
  const cloudIndex = new Map(answers.messages.map((m) => [(m.result as { seq: number }).seq, (m.result as { index: number }).index]));
  let expected = 0;
  for (const m of encoded.messages) {
    if (!(m.audit as { copy?: boolean } | undefined)?.copy) continue;
    const edgeIndex = (m.exit as { index: number }).index;
    if (cloudIndex.get((m.frame as { seq: number }).seq) !== edgeIndex) expected++;
  }
  assert.equal(disagree, expected, 'disagreements counted = audited exits whose cloud answer differs');
  // An exited answer was not changed by its audit.
  for (const m of exited.messages) assert.equal((m.payload as { source: string }).source, 'edge');
  // The next exit carries the live evidence, and /metrics exports it.
  const again = Number(exited.messages[0].sampleIndex);
  helper.getNode('head').receive({ payload: await pixels(again), sampleIndex: again });
  const last = (await exited.wait(exited.messages.length + 1)).at(-1)!;
  const report = (last.exit as { promise: PromiseReport }).promise;
  assert.deepEqual([report.audits, report.disagreements, report.epsilon], [counted, disagree, 0.02]);
  assert.ok(report.upper > report.lower && report.upper <= 1);
  const fleet = new FleetStats();
  fleet.exit('gw-a', { kind: 'classification', outcome: 'agree', threshold: (last.exit as { threshold: number }).threshold, promise: report } as never);
  const metrics = parsePrometheus(await fleet.registry.metrics());
  assert.equal(sampleValue(metrics, 'split_dnn_exit_audit_upper', { gateway: 'gw-a' }), report.upper);
  assert.equal(sampleValue(metrics, 'split_dnn_exit_audits', { gateway: 'gw-a', outcome: 'disagree' }), disagree);
  assert.equal(sampleValue(metrics, 'split_dnn_exit_promise_epsilon', { gateway: 'gw-a' }), 0.02);
});

test('promise mode: a broker outage pauses the audit; no evidence is counted until answers return', async () => {
  const down = await startEmbeddedBroker(0);
  const port = down.port;
  await loadFlow(auditFlow(`mqtt://127.0.0.1:${port}`));
  await modelReady();
  await connected();
  await down.close();
  const exited = new Collector('exited');
  for (let i = 0; i < 30; i++) helper.getNode('head').receive({ payload: await pixels(i), sampleIndex: i });
  await until(() => exited.messages.length > 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.match(statusText(), /audit 0\/0/, 'nothing counted while no answer can come');
  assert.ok(exited.messages.length > 0, 'exits go on during the outage');
  const back = await startEmbeddedBroker(port);
  try {
    assert.ok(await until(() => /audit \d+\/([1-9]\d*)/.test(statusText()), 30_000), `status after reconnect: ${statusText()}`);
  } finally {
    await helper.unload();
    await back.close();
  }
});

test('promise mode: a drift in the camera tightens the gate at once, with a warning and a status', async () => {
  await loadFlow(auditFlow(broker.url, { auditShare: '0.005', auditRide: '1000' }));
  await modelReady();
  await connected();
  const exited = new Collector('exited');
  const results = new Collector('results');
  const samples = await readSamples(rt.bundle);
  const side = rt.manifest.input.source.width;
  // In steps of 30, each answered before the next: split-head's queue is bounded.
  const feed = async (images: Uint8Array, from: number, count: number) => {
    for (let at = from; at < from + count; at += 30) {
      const before = exited.messages.length + results.messages.length;
      for (let i = at; i < at + 30; i++) helper.getNode('head').receive({ payload: Buffer.from(images.subarray(i * side * side, (i + 1) * side * side)), sampleIndex: i });
      assert.ok(await until(() => exited.messages.length + results.messages.length >= before + 30), `answered ${exited.messages.length} + ${results.messages.length} of ${before + 30}`);
    }
  };
  await feed(samples.images, 0, 300);
  const certified = (exited.messages[0].exit as { threshold: number }).threshold;
  assert.ok(exited.messages.every((m) => (m.exit as { threshold: number }).threshold === certified), 'no change on the camera the bundle was calibrated for');
  // The camera tilts: the same kind of items, rotated 35 degrees.
  await feed(shiftImages(samples.images, side, 'rotation', seeded(1)), 300, 300);
  const gate = helper.getNode('gate') as unknown as { warn: { getCalls(): { args: unknown[] }[] } };
  const warned = gate.warn.getCalls().map((c) => String(c.args[0])).find((w) => /stream left the calibration/.test(w));
  assert.ok(warned, 'a warning with the evidence');
  const later = exited.messages.at(-1)!.exit as { threshold: number };
  assert.ok(later.threshold > certified, `threshold ${later.threshold} after the drift, certified ${certified}`);
  assert.match(statusText(), /stream changed/);
  // /metrics names the state, from what the gate reported with its last exit.
  const report = (exited.messages.at(-1)!.exit as { promise: PromiseReport }).promise;
  assert.equal(report.streamChanged, true);
  const fleet = new FleetStats();
  fleet.exit('gw-a', { kind: 'classification', outcome: 'agree', threshold: later.threshold, promise: report } as never);
  const metrics = parsePrometheus(await fleet.registry.metrics());
  assert.equal(sampleValue(metrics, 'split_dnn_exit_audit_state', { gateway: 'gw-a', state: 'stream-changed' }), 1);
  assert.equal(sampleValue(metrics, 'split_dnn_exit_audit_state', { gateway: 'gw-a', state: 'held' }), 0);
});

for (const [field, value, why, shown] of [
  ['epsilon', '0', /epsilon must be a number in \(0, 1\)/, /refused: epsilon must/],
  ['delta', '1.5', /delta must be a number in \(0, 1\)/, /refused: delta must/],
  ['auditShare', '0.6', /audit share must be a number from 0 to 0\.5/, /refused: audit share must/]] as const) {
  test(`promise mode: ${field} = ${value} is refused with a clear status, and nothing exits`, async () => {
    await loadFlow(auditFlow(broker.url, { [field]: value }));
    await modelReady();
    const exited = new Collector('exited');
    const caught = new Collector('caught');
    helper.getNode('head').receive({ payload: await pixels(0) });
    const [err] = await caught.wait(1);
    assert.match(String((err.error as { message: string }).message), why);
    assert.match(statusText(), shown);
    assert.equal(exited.messages.length, 0);
  });
}
