// lib/metrics without Node-RED: the sliding window, the per-gateway summary the dashboard
// shows, and the Prometheus text, all from known observations at known times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetStats, SlidingWindow, quantile, outcomeOf } from '../lib/metrics';
import { parsePrometheus, sampleValue } from './support/prometheus';

const T0 = 1_700_000_000_000; // a whole second

test('sliding window: sums and samples of the last N seconds only; the reservoir keeps a bounded sample', () => {
  const w = new SlidingWindow(10, 4);
  w.count('x', 1, T0);
  w.count('x', 2, T0 + 1500);
  w.count('x', 4, T0 + 5200);
  assert.equal(w.sum('x', 1, T0 + 5900), 4);
  assert.equal(w.sum('x', 5, T0 + 5900), 6, 'seconds T0+1 .. T0+5');
  assert.equal(w.sum('x', 10, T0 + 5900), 7);
  w.count('x', 8, T0 + 12_000); // seconds T0 and T0+1 have left the 10 that are kept
  assert.equal(w.sum('x', 60, T0 + 12_000), 12);
  for (let i = 0; i < 100; i++) w.sample('v', i, T0 + 20_000);
  const kept = w.values('v', 1, T0 + 20_000);
  assert.equal(kept.length, 4);
  assert.ok(kept.every((v) => v >= 0 && v < 100));
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
  assert.equal(quantile([...Array(100).keys()].map((i) => i + 1), 0.95), 95);
});

test('outcome: scored by class index or label; errors and missing labels are not scored', () => {
  assert.equal(outcomeOf(3, { index: 3, label: 'Dress' }), 'correct');
  assert.equal(outcomeOf(2, { index: 3, label: 'Dress' }), 'wrong');
  assert.equal(outcomeOf('Dress', { index: 3, label: 'Dress' }), 'correct');
  assert.equal(outcomeOf(undefined, { index: 3 }), 'unlabelled');
  assert.equal(outcomeOf(3, { error: 'bad frame' }), 'error');
});

test('fleet: the summary and the Prometheus text agree with known edge and cloud observations', async () => {
  const fleet = new FleetStats();
  // gw-a, at the edge: 6 exits and 2 forwarded frames over 4 seconds.
  for (let i = 0; i < 6; i++) fleet.exit('gw-a', { outcome: i < 5 ? 'correct' : 'wrong', latencyMs: 10 + i, threshold: 0.7 }, T0 + i * 500);
  fleet.sent('gw-a', { bytes: 60, payloadBytes: 5, rate: 1, auto: true, threshold: 0.7 }, T0 + 1000);
  fleet.sent('gw-a', { bytes: 100, payloadBytes: 9, rate: 2, auto: true, threshold: 0.7 }, T0 + 3000);
  fleet.answer('gw-a', { outcome: 'correct', latencyMs: 80 }, T0 + 1100);
  fleet.answer('gw-a', { outcome: 'error', latencyMs: 90 }, T0 + 3100);
  fleet.edgeLink('gw-a', { state: 'connected', pending: 7, inflight: 2, dropped: 0, resent: 3, malformedAnswers: 1, refusedAnswers: 2, rttMsP50: 20, rttMsP95: 50, frameBytesSent: 40, linkBytesSent: 300, linkBytesReceived: 100 }, T0 + 3500);
  fleet.edgeLink('gw-a', { state: 'connected', pending: 7, inflight: 2, dropped: 0, resent: 3, malformedAnswers: 1, refusedAnswers: 2, rttMsP50: 20, rttMsP95: 50, frameBytesSent: 50, linkBytesSent: 400, linkBytesReceived: 140 }, T0 + 3600);
  // gw-b, seen from the cloud: frames 0, 1, 1 again, then a gap of 2 that is half recovered.
  fleet.received('gw-b', { bootId: 9, seq: 0, bytes: 70, rate: 0 }, T0);
  fleet.received('gw-b', { bootId: 9, seq: 1, bytes: 90, rate: 0 }, T0 + 1000);
  fleet.received('gw-b', { bootId: 9, seq: 1, bytes: 90, rate: 0 }, T0 + 2000);
  fleet.served('gw-b', { latencyMs: 30 }, T0 + 100);
  fleet.served('gw-b', { latencyMs: 50 }, T0 + 1100);
  fleet.served('gw-b', { error: 'rate level 9 does not exist' }, T0 + 1200);
  fleet.gap('gw-b', 2, T0 + 3000);
  fleet.gap('gw-b', -1, T0 + 3500);
  fleet.gatewayLive('gw-b', true, T0 + 3500);
  fleet.error('gw-b', 'tail-infer', T0 + 1200);
  fleet.refused('gw-b', 'forged', T0 + 1300);
  fleet.refused('gw-b', 'malformed', T0 + 1400);
  fleet.seqReset('gw-b', T0 + 1500);

  const [a, b] = fleet.summary(10, T0 + 3999);
  assert.equal(a.gateway, 'gw-a');
  assert.ok(Math.abs(a.fps - 8 / 3.999) < 1e-9, `fps ${a.fps}: 8 frames since the first, 3.999 s ago`);
  assert.equal(a.exitRatio, 6 / 8);
  assert.equal(a.bytesPerFrame, 80);
  // The three byte figures per forwarded frame: payload, frame, link (socket bytes both ways).
  assert.deepEqual([a.payloadBytesPerFrame, a.linkBytesPerFrame], [7, 270]);
  assert.equal(a.accuracy, 6 / 7, 'the error answer is not scored');
  assert.equal(a.latencyP50Ms, 13);
  assert.equal(a.latencyP95Ms, 90);
  assert.deepEqual([a.link, a.outbox, a.rateLevel, a.rateAuto, a.threshold, a.gaps, a.errors], ['connected', 7, 2, true, 0.7, 0, 0]);
  assert.equal(b.gateway, 'gw-b');
  assert.equal(b.exitRatio, null, 'the cloud cannot know exits');
  assert.equal(b.accuracy, null);
  assert.ok(Math.abs(b.fps - 2 / 3.999) < 1e-9, 'duplicates are not frames');
  assert.equal(b.bytesPerFrame, 80);
  assert.equal(b.latencyP50Ms, 30);
  assert.deepEqual([b.link, b.duplicates, b.gaps, b.errors, b.outbox], ['live', 1, 1, 1, null]);
  assert.deepEqual([a.refused, b.refused], [3, 2], 'refusals have their own column, counted once however often the link is read');
  // Ten seconds later the window is empty but the state stays.
  const later = fleet.summary(10, T0 + 14_500)[0];
  assert.deepEqual([later.fps, later.exitRatio, later.latencyP95Ms, later.outbox], [0, null, null, 7]);

  const m = parsePrometheus(await fleet.registry.metrics());
  const v = (name: string, labels: Record<string, string>) => sampleValue(m, name, labels);
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-a', path: 'exit' }), 6);
  assert.equal(v('split_dnn_frames_total', { gateway: 'gw-a', path: 'forward' }), 2);
  assert.equal(v('split_dnn_transmitted_bytes_total', { gateway: 'gw-a' }), 160);
  assert.equal(v('split_dnn_payload_bytes_total', { gateway: 'gw-a' }), 14);
  assert.equal(v('split_dnn_link_frame_bytes_total', { gateway: 'gw-a' }), 50);
  assert.deepEqual([v('split_dnn_link_bytes_total', { gateway: 'gw-a', direction: 'up' }), v('split_dnn_link_bytes_total', { gateway: 'gw-a', direction: 'down' })], [400, 140]);
  assert.equal(v('split_dnn_frame_bytes_bucket', { gateway: 'gw-a', le: '64' }), 1);
  assert.equal(v('split_dnn_frame_bytes_count', { gateway: 'gw-a' }), 2);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'edge', outcome: 'correct' }), 5);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'edge', outcome: 'wrong' }), 1);
  assert.equal(v('split_dnn_results_total', { gateway: 'gw-a', source: 'cloud', outcome: 'error' }), 1);
  assert.equal(v('split_dnn_latency_seconds_count', { gateway: 'gw-a', source: 'edge' }), 6);
  assert.equal(v('split_dnn_latency_seconds_bucket', { gateway: 'gw-a', source: 'cloud', le: '0.1' }), 2);
  assert.ok(Math.abs(v('split_dnn_latency_seconds_sum', { gateway: 'gw-a', source: 'edge' })! - 0.075) < 1e-9);
  assert.equal(v('split_dnn_exit_threshold', { gateway: 'gw-a' }), 0.7);
  assert.equal(v('split_dnn_rate_level', { gateway: 'gw-a' }), 2);
  assert.equal(v('split_dnn_rate_auto', { gateway: 'gw-a' }), 1);
  assert.equal(v('split_dnn_outbox_frames', { gateway: 'gw-a' }), 7);
  assert.equal(v('split_dnn_resent_frames_total', { gateway: 'gw-a' }), 3);
  assert.equal(v('split_dnn_link_rtt_seconds', { gateway: 'gw-a', quantile: '0.95' }), 0.05);
  assert.equal(v('split_dnn_link_up', { gateway: 'gw-a' }), 1);
  assert.equal(v('split_dnn_cloud_frames_total', { gateway: 'gw-b' }), 3);
  assert.equal(v('split_dnn_cloud_received_bytes_total', { gateway: 'gw-b' }), 250);
  assert.equal(v('split_dnn_cloud_duplicates_total', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_tail_results_total', { gateway: 'gw-b', outcome: 'ok' }), 2);
  assert.equal(v('split_dnn_tail_results_total', { gateway: 'gw-b', outcome: 'error' }), 1);
  assert.equal(v('split_dnn_tail_latency_seconds_count', { gateway: 'gw-b' }), 2);
  assert.equal(v('split_dnn_gap_frames_total', { gateway: 'gw-b' }), 2);
  assert.equal(v('split_dnn_gap_frames_recovered_total', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_gap_frames_open', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_errors_total', { gateway: 'gw-b', node: 'tail-infer' }), 1);
  assert.equal(v('split_dnn_broker_connected', { side: 'edge' }), 1);
  assert.equal(v('split_dnn_parse_errors_total', { gateway: 'gw-a' }), 1);
  assert.equal(v('split_dnn_refused_answers_total', { gateway: 'gw-a' }), 2);
  assert.equal(v('split_dnn_forged_frames_total', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_parse_errors_total', { gateway: 'gw-b' }), 1);
  assert.equal(v('split_dnn_seq_resets_total', { gateway: 'gw-b' }), 1);
});

test('fleet: link counts become counter increments across a reopened link; gateways past the cap are "other"', async () => {
  const fleet = new FleetStats({ maxGateways: 2 });
  const link = (dropped: number, resent: number) => ({ state: 'disconnected', pending: 0, inflight: 0, dropped, resent, rttMsP50: null, rttMsP95: null });
  fleet.edgeLink('gw', link(4, 1));
  fleet.edgeLink('gw', link(6, 1));
  fleet.edgeLink('gw', link(2, 0)); // the link was closed and opened again: counting starts over
  fleet.exit('gw-2', { outcome: 'unlabelled' });
  fleet.exit('gw-3', { outcome: 'unlabelled' });
  fleet.exit('gw-4', { outcome: 'unlabelled' });
  const m = parsePrometheus(await fleet.registry.metrics());
  assert.equal(sampleValue(m, 'split_dnn_outbox_dropped_frames_total', { gateway: 'gw' }), 8);
  assert.equal(sampleValue(m, 'split_dnn_resent_frames_total', { gateway: 'gw' }), 1);
  assert.equal(sampleValue(m, 'split_dnn_link_up', { gateway: 'gw' }), 0);
  assert.equal(sampleValue(m, 'split_dnn_frames_total', { gateway: 'other', path: 'exit' }), 2);
  assert.deepEqual(fleet.summary(10).map((r) => r.gateway), ['gw', 'gw-2', 'other']);
});
