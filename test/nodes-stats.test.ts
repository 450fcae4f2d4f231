// split-stats through node-red-node-test-helper: messages shaped as the pipeline nodes send
// them go in; the dashboard outputs and GET /metrics must give the figures they imply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeAPI, NodeMessage } from 'node-red';
import { helper, startRed, stopRed, ALL_NODES, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE } from './support/paths';
import { parsePrometheus, sampleValue } from './support/prometheus';
import { decodeFrame, encodeFrame } from '../lib/wire';
import { fleetOfProcess } from '../lib/metrics';
import { loadBundle } from '../lib/model';

const OUTPUTS = ['fps', 'exit', 'bytes', 'latency', 'accuracy', 'outbox', 'table', 'threshold', 'rate', 'audit'];
const MODEL_ID = '0123456789abcdef';
let httpNode: http.RequestListener;
let server: http.Server;

before(async () => {
  await startRed();
  fleetOfProcess().clear();
  // A one-line "node module" that hands the test the node app split-stats routes /metrics on.
  const grab = (RED: NodeAPI) => { httpNode = RED.httpNode as unknown as http.RequestListener; };
  await helper.load([...ALL_NODES, grab], [tab, modelNode(BUNDLE), ...catcher,
    { id: 'stats', type: 'split-stats', z: 'f1', model: 'model', gateway: 'gw-a', watch: 'edge', link: '', interval: '0.25', window: '5', path: '/metrics-test', wires: OUTPUTS.map((id) => [id]) },
    ...OUTPUTS.map((id) => ({ id, type: 'helper', z: 'f1' }))]);
  server = http.createServer((req, res) => httpNode(req, res)).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
});
after(async () => { server.close(); await stopRed(); });

const frame = (kind: 'features' | 'result', seq: number, body?: Record<string, unknown>) => encodeFrame({
  kind, rateLevel: 1, modelId: MODEL_ID, gatewayId: 'gw-b', bootId: 5, seq, timestampMs: Date.now(),
  shape: kind === 'features' ? [3] : [], payload: kind === 'features' ? Uint8Array.of(1, 2, 3) : undefined, body,
});
const answer = (index: number, source: 'edge' | 'cloud') => ({ label: `class ${index}`, index, confidence: 0.9, source });

/** What the pipeline sends: gw-a as a gateway sees itself, gw-b as the cloud sees it. */
function pipelineMessages(now: number): NodeMessage[] {
  const exit = (index: number, label: number) => ({ payload: answer(index, 'edge'), exit: { exited: true, index, threshold: 0.6 }, label, capturedAt: now - 20 });
  const features = frame('features', 0);
  return [
    exit(1, 1), exit(1, 1), // early-exit-gate, output 1: two right, one wrong (in promise mode: 3 of 120 audits disagreed, bound 6%, promise 5%, tightened)
    { ...exit(2, 1), exit: { exited: true, index: 2, threshold: 0.6, promise: { epsilon: 0.05, delta: 0.05, audits: 120, disagreements: 3, lower: 0.004, upper: 0.06, tightened: true, paused: false } } },
    { payload: Buffer.alloc(100), frame: { gateway: 'gw-a', seq: 0, rate: 2, bytes: 100, auto: true }, exit: { exited: false, threshold: 0.6 } }, // bottleneck-encode
    { payload: answer(3, 'cloud'), frame: { gateway: 'gw-a', seq: 0, kind: 'result' }, latencyMs: 40, label: 3 }, // mqtt-transmit, edge
    { topic: 'split/gw-b/x/features', payload: features }, // mqtt-transmit, cloud
    { topic: 'split/gw-b/x/features', payload: frame('features', 1) },
    { topic: 'split/gw-b/x/features', payload: frame('features', 1) }, // a resend
    // Bytes that claim another gateway (a flipped id with its CRC fixed) count under the topic's; ones that do not parse are tail-infer's to report, not counted here again.
    { topic: 'split/gw-b/x/features', payload: encodeFrame({ ...decodeFrame(frame('features', 7)), gatewayId: 'gw-x' }) },
    { topic: 'split/gw-b/x/features', payload: Buffer.from('SD not a frame') },
    { payload: frame('result', 0, { ...answer(4, 'cloud'), latencyMs: 30 }), result: { gateway: 'gw-b', seq: 0, latencyMs: 30 } }, // tail-infer
    { payload: frame('result', 1, { error: 'rate level 9 does not exist', source: 'cloud' }), result: { error: 'rate level 9 does not exist', gateway: 'gw-b', seq: 1 } },
    { payload: frame('result', 1, { error: 'rate level 9 does not exist', source: 'cloud' }), result: { gateway: 'gw-b' }, error: { message: 'rate level 9 does not exist', source: { id: 't', type: 'tail-infer' } } }, // catch
  ];
}

test('split-stats: per-gateway figures on the chart, table and control outputs; unknown messages are reported', async () => {
  const out = Object.fromEntries(OUTPUTS.map((id) => [id, new Collector(id)]));
  const caught = new Collector('caught');
  await modelReady();
  const stats = helper.getNode('stats');
  for (const msg of pipelineMessages(Date.now())) stats.receive(msg);
  stats.receive({ payload: 'hello' });

  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /split-stats takes exits/);
  // A few ticks later: the figures of everything above (the window is 5 s).
  await out.table.wait(2, 5000);
  const table = out.table.messages.at(-1)!;
  const rows = table.payload as Record<string, unknown>[];
  assert.deepEqual(rows.map((r) => r.gateway), ['gw-a', 'gw-b']);
  const [a, b] = rows;
  assert.equal(a['exit %'], 75);
  assert.equal(a['accuracy %'], 75, 'three of four labelled answers right');
  assert.equal(a['frame B'], 100);
  assert.equal(a.rate, 'auto 2');
  assert.equal(a.threshold, 0.6);
  assert.equal(a['p95 ms'], 40);
  assert.ok(Number(a['p50 ms']) >= 20 && Number(a['p50 ms']) < 1000, `exit latency ${a['p50 ms']} ms`);
  assert.equal(b['exit %'], '–', 'the cloud does not see exits');
  assert.equal(b['frame B'], frame('features', 0).length);
  assert.equal(b['p50 ms'], 30);
  assert.deepEqual([b.dups, b.errors, b.gaps], [1, 1, 0]);
  assert.equal(caught.messages.length, 1, 'split-stats raised no error of its own for the frame that does not parse');
  assert.match(String(table.fleet), /^2 gateways, 0 connected, [\d.]+ frames\/s over the last 5 s$/);

  // Chart outputs, last tick: one series per gateway (latency: p50 and p95), values as in the table.
  assert.deepEqual([out.exit.messages.at(-1)!.topic, out.exit.messages.at(-1)!.payload], ['gw-a', 75]);
  assert.deepEqual(out.latency.messages.slice(-4).map((m) => [m.topic, m.payload]), [['gw-a p50', a['p50 ms']], ['gw-a p95', 40], ['gw-b p50', 30], ['gw-b p95', 30]]);
  const fps = out.fps.messages.slice(-2);
  assert.deepEqual(fps.map((m) => m.topic), ['gw-a', 'gw-b']);
  assert.ok(fps.every((m) => typeof m.payload === 'number' && m.payload > 0));
  assert.equal(out.outbox.messages.length, 0, 'no link, no outbox figure');
  // The exit audit (output 10): gw-a's audited disagreement, the bound it acts on, and epsilon; gw-b runs no promise.
  assert.deepEqual(out.audit.messages.slice(-3).map((m) => [m.topic, m.payload]), [['gw-a audited', 2.5], ['gw-a bound', 6], ['gw-a epsilon', 5]]);
  assert.equal(a['audit %'], '2.5 ≤ 6 (ε 5, tightened)');
  // Controls: what gw-a runs, once, and the bundle's rate levels for the dropdown.
  assert.deepEqual(out.threshold.messages.map((m) => m.payload), [0.6]);
  const manifest = (await loadBundle(BUNDLE)).manifest;
  const options = out.rate.messages.find((m) => m.options)!.options as { value: unknown; label: string }[];
  assert.deepEqual(options.map((o) => o.value), ['auto', ...manifest.rates.map((_, i) => i)]);
  assert.match(options[1].label, /^0 · [\d.]+ B payload · [\d.]+%$/);
  assert.deepEqual(out.rate.messages.filter((m) => !m.options).map((m) => m.payload), ['auto']);
});

test('split-stats: GET /metrics gives the same figures in Prometheus text; gone with the node', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics-test`;
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain;.*version=0\.0\.4/);
  const m = parsePrometheus(await res.text());
  const v = (name: string, labels: Record<string, string>) => sampleValue(m, name, labels);
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-a', path: 'exit' }), 3);
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-a', path: 'forward' }), 1);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'edge', outcome: 'correct' }), 2);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'edge', outcome: 'wrong' }), 1);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'cloud', outcome: 'correct' }), 1);
  assert.equal(v('split_dnn_transmitted_bytes_total', { gateway: 'gw-a' }), 100);
  assert.equal(v('split_dnn_latency_seconds_bucket', { gateway: 'gw-a', source: 'cloud', le: '0.05' }), 1);
  assert.equal(v('split_dnn_latency_seconds_count', { gateway: 'gw-a', source: 'edge' }), 3);
  assert.equal(v('split_dnn_exit_threshold', { gateway: 'gw-a' }), 0.6);
  assert.equal(v('split_dnn_rate_level', { gateway: 'gw-a' }), 2);
  assert.equal(v('split_dnn_cloud_frames_total', { gateway: 'gw-b' }), 4);
  assert.equal(v('split_dnn_cloud_frames_total', { gateway: 'gw-x' }), undefined, 'no label from bytes inside a frame');
  assert.equal(v('split_dnn_cloud_duplicates_total', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_tail_results_total', { gateway: 'gw-b', outcome: 'ok' }), 1);
  assert.equal(v('split_dnn_tail_results_total', { gateway: 'gw-b', outcome: 'error' }), 1);
  assert.equal(v('split_dnn_tail_latency_seconds_sum', { gateway: 'gw-b' }), 0.03);
  assert.equal(v('split_dnn_errors_total', { gateway: 'gw-b', node: 'tail-infer' }), 1);
  assert.equal(v('split_dnn_errors_total', { gateway: 'gw-b', node: 'split-stats' }), undefined, 'counted once');
  assert.ok((v('process_cpu_seconds_total', {}) ?? -1) >= 0, 'Node.js process metrics too');

  await helper.unload();
  assert.equal((await fetch(url)).status, 404, 'no split-stats node, no metrics');
});
