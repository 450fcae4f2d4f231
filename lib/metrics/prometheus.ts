// The Prometheus metrics of a split-DNN runtime, on a prom-client registry. Every figure
// is labelled by gateway, so one cloud scrape shows the whole fleet and a gateway's own
// /metrics shows itself. Counters are cumulative for the life of the process (a redeploy
// does not reset them); rates and quantiles are the scraper's job.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const FRAME_BYTES_BUCKETS = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 4096];

export function defineMetrics(register: Registry) {
  const registers = [register];
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers });
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers });
  return {
    // Edge: what the gateway decided and sent.
    frames: counter('split_dnn_frames_total', 'Frames decided at the edge, by path: exit (answered by the early exit) or forward (sent to the cloud)', ['gateway', 'path']),
    // Three byte figures: payload (the codec's output), frame (a wire frame as handed to the
    // link: v1 header, payload, CRC), link (the TCP bytes of the gateway's MQTT socket).
    payloadBytes: counter('split_dnn_payload_bytes_total', 'Payload bytes: the coded symbols of the transmitted frames, no header', ['gateway']),
    transmittedBytes: counter('split_dnn_transmitted_bytes_total', 'Frame bytes: wire frames handed to the link (v1: header, coded payload, CRC; the link may send them smaller, in v2)', ['gateway']),
    linkFrameBytes: counter('split_dnn_link_frame_bytes_total', 'Frame bytes as the link published them (v2 or v1, resends included)', ['gateway']),
    linkBytes: counter('split_dnn_link_bytes_total', 'Link bytes: what the gateway\'s MQTT socket wrote (direction up) and read (down), all messages and acknowledgements; IP and TCP headers not included', ['gateway', 'direction']),
    frameBytes: new Histogram({ name: 'split_dnn_frame_bytes', help: 'Bytes per transmitted wire frame', labelNames: ['gateway'], buckets: FRAME_BYTES_BUCKETS, registers }),
    results: counter('split_dnn_results_total', 'Answers seen at the edge, by source (edge exit or cloud) and outcome (correct, wrong: against labels; agree, disagree: against the original model; unlabelled, error)', ['gateway', 'source', 'outcome']),
    taskResults: counter('split_dnn_task_results_total', 'Answers seen at the edge, by source and task (classification, multilabel, detection, tensors)', ['gateway', 'source', 'task']),
    detectedObjects: counter('split_dnn_detected_objects_total', 'Objects found in detection answers seen at the edge', ['gateway', 'source']),
    positiveLabels: counter('split_dnn_positive_labels_total', 'Labels decided present in multilabel answers seen at the edge', ['gateway', 'source']),
    latency: new Histogram({ name: 'split_dnn_latency_seconds', help: 'Capture to answer at the edge, by source (edge exit or cloud round trip)', labelNames: ['gateway', 'source'], buckets: LATENCY_BUCKETS_S, registers }),
    threshold: gauge('split_dnn_exit_threshold', 'Early-exit confidence threshold in use', ['gateway']),
    promiseEpsilon: gauge('split_dnn_exit_promise_epsilon', 'Promised bound on the share of exited answers that differ from the full model', ['gateway']),
    auditUpper: gauge('split_dnn_exit_audit_upper', 'Anytime-valid upper bound on the audited disagreement of exits at the current threshold', ['gateway']),
    auditLower: gauge('split_dnn_exit_audit_lower', 'Anytime-valid lower bound on the audited disagreement of exits at the current threshold', ['gateway']),
    audits: gauge('split_dnn_exit_audits', 'Audits answered by the cloud since the threshold last changed, by outcome (agree, disagree)', ['gateway', 'outcome']),
    auditState: gauge('split_dnn_exit_audit_state', '1 for the state the promise is in: held, tightened, stream-changed (the drift alarm fired), paused', ['gateway', 'state']),
    rateLevel: gauge('split_dnn_rate_level', 'Rate level of the last transmitted frame (0 = smallest)', ['gateway']),
    rateAuto: gauge('split_dnn_rate_auto', '1 when the rate controller picks the level, 0 when it is fixed', ['gateway']),
    outbox: gauge('split_dnn_outbox_frames', 'Frames in the durable outbox, waiting for their answer', ['gateway']),
    inflight: gauge('split_dnn_inflight_frames', 'Frames published and not yet answered', ['gateway']),
    shed: counter('split_dnn_shed_frames_total', 'Frames shed before the head model by split-head\'s admission (queue full: the model or the link cannot keep up); never frames already in the outbox', ['gateway']),
    headWaiting: gauge('split_dnn_head_waiting_frames', 'Frames waiting in split-head\'s bounded queue', ['gateway']),
    outboxDropped: counter('split_dnn_outbox_dropped_frames_total', 'Frames dropped because the outbox was full', ['gateway']),
    resent: counter('split_dnn_resent_frames_total', 'Frames published again (reconnect, restart or no answer in time)', ['gateway']),
    linkRtt: gauge('split_dnn_link_rtt_seconds', 'Publish to answer round trip over the link\'s recent frames', ['gateway', 'quantile']),
    linkUp: gauge('split_dnn_link_up', '1 when the gateway is connected (edge: its MQTT connection; cloud: its last birth/death)', ['gateway']),
    // Cloud: what the tails received and answered.
    cloudFrames: counter('split_dnn_cloud_frames_total', 'Features frames received by this runtime\'s tails (duplicates included)', ['gateway']),
    cloudBytes: counter('split_dnn_cloud_received_bytes_total', 'Bytes of features frames received', ['gateway']),
    duplicates: counter('split_dnn_cloud_duplicates_total', 'Frames this runtime\'s tails received again (at-least-once delivery resends)', ['gateway']),
    gaps: counter('split_dnn_gap_frames_total', 'Frames reported missing: sequence numbers no tail of the group saw in time', ['gateway']),
    gapsRecovered: counter('split_dnn_gap_frames_recovered_total', 'Frames reported missing that arrived later (resent)', ['gateway']),
    gapsOpen: gauge('split_dnn_gap_frames_open', 'Frames reported missing and not (yet) recovered', ['gateway']),
    tailResults: counter('split_dnn_tail_results_total', 'Frames answered by the tail, by outcome (ok, error)', ['gateway', 'outcome']),
    tailLatency: new Histogram({ name: 'split_dnn_tail_latency_seconds', help: 'Capture (gateway clock) to tail answer in the cloud', labelNames: ['gateway'], buckets: LATENCY_BUCKETS_S, registers }),
    // What peers sent that was not taken, by the gateway of the topic it came on.
    forged: counter('split_dnn_forged_frames_total', 'Frames refused unanswered because their header names another gateway (or model) than the topic they came on', ['gateway']),
    parseErrors: counter('split_dnn_parse_errors_total', 'Messages or frames that did not parse: features at the cloud, answers at the edge', ['gateway']),
    refusedAnswers: counter('split_dnn_refused_answers_total', 'Answers at the edge that did not echo their frame (boot, seq, timestamp, model, rate); the frame stays pending', ['gateway']),
    seqResets: counter('split_dnn_seq_resets_total', 'Sequence jumps too long to be gaps (counted once, not as missing frames)', ['gateway']),
    // Both.
    errors: counter('split_dnn_errors_total', 'Errors raised by nodes (through a catch node), by gateway when the message says and by node type', ['gateway', 'node']),
    brokerUp: gauge('split_dnn_broker_connected', '1 when this runtime\'s MQTT connection is up, by side (edge, cloud)', ['side']),
  };
}

export type SplitMetrics = ReturnType<typeof defineMetrics>;

export function createRegistry(withDefaults: boolean): { registry: Registry; metrics: SplitMetrics } {
  const registry = new Registry();
  // Process CPU, memory and event-loop lag: onnxruntime blocks the loop if misused.
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return { registry, metrics: defineMetrics(registry) };
}
