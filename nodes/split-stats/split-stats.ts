// split-stats: watches the pipeline's messages (edge exits, encoded frames, answers,
// frames arriving at the cloud, tail answers, caught errors) and the split-link, feeds the
// process's metrics, serves them to Prometheus at GET /metrics, and every few seconds
// sends the fleet's figures shaped for Dashboard 2.0 charts, a table and the controls.
import type { PromiseReport } from '../../lib/exit/promise';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Request, Response, NextFunction } from 'express';
import { fleetOfProcess, judge, answerFigures, FleetStats, GatewaySummary, AnyAnswer, AnswerSeen } from '../../lib/metrics';
import { decodeFrame } from '../../lib/wire';
import { processAdmissions } from '../../lib/admission';
import { parseTopic } from '../../lib/link/topics';
import type { Gap, Recovery, Reset } from '../../lib/link/sequence';
import type { Refusal } from '../../lib/link/identity';
import type { EdgeLink } from '../../lib/link/edge-link';
import type { CloudLink } from '../../lib/link/cloud-link';
import { handleInput, StatusLine, short, statusParts } from '../common/node-kit';
import type { SplitLinkNode } from '../split-link/split-link';
import type { SplitModelNode } from '../split-model/split-model';
import { auditChartMessages, chartMessages, rateOptions, tableMessage, OUTPUT_LABELS, RATE_OUTPUT } from './dashboard';

interface StatsDef extends NodeDef {
  link: string; watch: 'edge' | 'cloud' | 'both'; model: string; gateway: string;
  interval: string; window: string; path: string;
}

type Answer = AnyAnswer & { source?: string };
interface FrameInfo { gateway?: string; kind?: string; bytes?: number; payloadBytes?: number; rate?: number; auto?: boolean }

/** The gateway of the topic a message came on, if it came over the link. */
const topicGateway = (msg: NodeMessageInFlow) => (typeof msg.topic === 'string' ? parseTopic(msg.topic)?.gateway : undefined);

/** Which gateway a message is about: the topic it came on (what the broker vouches for), the frame it carries, or this node's own. */
function gatewayOf(msg: NodeMessageInFlow, own: string): string {
  const result = msg.result as { gateway?: string } | undefined;
  const frame = msg.frame as FrameInfo | undefined;
  return topicGateway(msg) ?? result?.gateway ?? frame?.gateway ?? own;
}

/** How an answer scored and what it found (any task); labels may be the original model's answers. */
function seen(msg: NodeMessageInFlow, answer: Answer, labelsAreOriginal: boolean): AnswerSeen {
  return { outcome: judge(answer, { label: msg.label, reference: msg.reference, labelsAreOriginal }), figures: answer.error ? undefined : answerFigures(answer) };
}

/** Feeds one message into the figures; false when it is none of the kinds this node knows. */
function observe(fleet: FleetStats, msg: NodeMessageInFlow, own: string, now: number, labelsAreOriginal = false): boolean {
  const error = msg.error as { source?: { type?: string } } | undefined;
  if (error) {
    fleet.error(gatewayOf(msg, own), error.source?.type ?? 'unknown', now);
    return true;
  }
  const answer = (msg.payload ?? {}) as Answer;
  const frame = msg.frame as FrameInfo | undefined;
  const exit = msg.exit as { exited?: boolean; threshold?: number; promise?: PromiseReport } | undefined;
  if (exit?.exited && answer.source === 'edge') {
    const capturedAt = Number(msg.capturedAt);
    fleet.exit(own, { ...seen(msg, answer, labelsAreOriginal), latencyMs: capturedAt ? now - capturedAt : undefined, threshold: exit.threshold, promise: exit.promise }, now);
    return true;
  }
  if (frame && !frame.kind && typeof frame.bytes === 'number' && Buffer.isBuffer(msg.payload)) {
    fleet.sent(frame.gateway ?? own, { bytes: frame.bytes, payloadBytes: frame.payloadBytes, rate: frame.rate ?? 0, auto: frame.auto, threshold: exit?.threshold }, now);
    return true;
  }
  if (frame?.kind && answer.source === 'cloud') {
    fleet.answer(frame.gateway ?? own, { ...seen(msg, answer, labelsAreOriginal), latencyMs: msg.latencyMs as number | undefined }, now);
    return true;
  }
  if (Buffer.isBuffer(msg.payload)) {
    let f;
    // One that does not parse is counted once, where it is refused (tail-infer, through the catch node; or the link).
    try { f = decodeFrame(msg.payload); } catch { return true; }
    const gateway = topicGateway(msg) ?? f.gatewayId;
    if (f.kind === 'features') {
      fleet.received(gateway, { bootId: f.bootId, seq: f.seq, bytes: msg.payload.length, rate: f.rateLevel }, now);
      return true;
    }
    if (f.kind === 'result') {
      // A resent frame's cached answer: already counted when the frame arrived again.
      if (!msg.duplicate) fleet.served(gateway, { latencyMs: f.body?.latencyMs as number | undefined, error: f.body?.error }, now);
      return true;
    }
  }
  return false;
}

// GET routes cannot be removed from Node-RED's node app: each path is routed once per
// app and answers 404 (next) while no split-stats node serves it.
const serving = new Map<string, number>();
const routed = new WeakMap<object, Set<string>>();

function serveMetrics(RED: NodeAPI, path: string): (() => void) | null {
  if (!RED.httpNode) return null; // httpNodeRoot: false
  const paths = routed.get(RED.httpNode) ?? new Set<string>();
  routed.set(RED.httpNode, paths);
  if (!paths.has(path)) {
    paths.add(path);
    RED.httpNode.get(path, (_req: Request, res: Response, next: NextFunction) => {
      if (!serving.get(path)) return next();
      const { registry } = fleetOfProcess();
      registry.metrics().then(
        (text) => res.set('Content-Type', registry.contentType).send(text),
        (err: Error) => res.status(500).send(err.message),
      );
    });
  }
  serving.set(path, (serving.get(path) ?? 0) + 1);
  return () => serving.set(path, serving.get(path)! - 1);
}

function register(RED: NodeAPI): void {
  function SplitStats(this: Node, def: StatsDef) {
    RED.nodes.createNode(this, def);
    const fleet = fleetOfProcess();
    const linkNode = def.link ? (RED.nodes.getNode(def.link) as SplitLinkNode | null) : null;
    const model = def.model ? (RED.nodes.getNode(def.model) as SplitModelNode | null) : null;
    const own = def.gateway || linkNode?.gateway || process.env.SPLIT_DNN_GATEWAY || 'gateway';
    const intervalMs = Math.max(0.25, Number(def.interval) || 2) * 1000;
    const windowSec = Math.min(60, Math.max(1, Math.round(Number(def.window) || 10)));
    let rows: GatewaySummary[] = [];
    let edge: EdgeLink | null = null;
    let cloud: CloudLink | null = null;
    const status = new StatusLine(this, () => {
      const fps = rows.reduce((n, r) => n + r.fps, 0);
      const mine = rows.find((r) => r.gateway === own);
      const exit = mine?.exitRatio ?? null;
      return { fill: 'green', shape: 'dot', text: statusParts(
        RED._('split-stats.status.gateways', { n: rows.length }),
        RED._('split-stats.status.fps', { fps: short(Math.round(fps)) }),
        exit !== null && RED._('split-stats.status.exit', { percent: Math.round(100 * exit) })) };
    });

    // Only the side(s) this node is told to watch: asking split-link for the other side
    // would open a connection nobody uses.
    const detach: (() => void)[] = [];
    let closed = false;
    if (linkNode && def.watch !== 'cloud') linkNode.edge().then((l) => { edge = l; }, () => undefined);
    if (linkNode && def.watch !== 'edge') {
      linkNode.cloud().then((l) => {
        if (closed) return;
        cloud = l;
        // The link outlives this node on a partial redeploy: listeners go with the node.
        const handlers: Record<string, (...a: any[]) => void> = {
          gap: (g: Gap) => fleet.gap(g.gateway, g.count),
          'gap-recovered': (r: Recovery) => fleet.gap(r.gateway, -r.count),
          refused: (r: Refusal) => fleet.refused(r.gateway, r.reason),
          'seq-reset': (r: Reset) => fleet.seqReset(r.gateway),
        };
        for (const [event, fn] of Object.entries(handlers)) l.on(event, fn);
        detach.push(() => { for (const [event, fn] of Object.entries(handlers)) l.off(event, fn); });
      }, () => undefined);
    }
    const unserve = (def.path ? serveMetrics(RED, def.path) : null) ?? (() => undefined);
    if (def.path && !RED.httpNode) this.warn(`metrics not served at ${def.path}: Node-RED's httpNodeRoot is false`);

    // Controls: tell the slider and the dropdown what the gateway runs now, on change only,
    // so a value being dragged is not pulled back.
    let shownThreshold: number | null = null;
    let shownRate: string | number | null = null;
    const controls = (mine: GatewaySummary | undefined): [NodeMessage | null, NodeMessage | null] => {
      let t: NodeMessage | null = null;
      let r: NodeMessage | null = null;
      if (mine?.threshold != null && mine.threshold !== shownThreshold) {
        shownThreshold = mine.threshold;
        t = { topic: 'threshold', payload: mine.threshold };
      }
      const rate = mine?.rateAuto ? 'auto' : mine?.rateLevel ?? null;
      if (rate !== null && rate !== shownRate) {
        shownRate = rate;
        r = { topic: 'rate', payload: rate };
      }
      return [t, r];
    };
    const toRateOutput = (msg: NodeMessage) => OUTPUT_LABELS.map((_l, i) => (i === RATE_OUTPUT ? msg : null));
    model?.runtime.then((rt) => this.send(toRateOutput({ topic: 'rate', options: rateOptions(rt.manifest.rates) })), () => undefined);

    const tick = () => {
      const now = Date.now();
      if (edge) fleet.edgeLink(linkNode!.gateway, edge.stats(), now);
      if (def.watch !== 'cloud' && processAdmissions.size) fleet.admission(own, processAdmissions.sum(), now);
      if (cloud) {
        for (const g of cloud.gateways.values()) fleet.gatewayLive(g.gateway, g.live, now);
        fleet.cloudBroker(cloud.stats().state);
      }
      rows = fleet.summary(windowSec, now);
      if (!rows.length) return;
      this.send([...chartMessages(rows), [tableMessage(rows, windowSec)], ...controls(rows.find((r) => r.gateway === own)), auditChartMessages(rows)]);
      status.now();
    };
    const timer = setInterval(tick, intervalMs);

    // A bundle split without labels carries the original model's answers as sample labels:
    // scored against them, answers measure agreement, not accuracy.
    let labelsAreOriginal = false;
    model?.runtime.then((rt) => { labelsAreOriginal = rt.manifest.samples?.labelSource === 'original-model-argmax'; }, () => undefined);

    handleInput(this, status, async (msg) => {
      if (!observe(fleet, msg, own, Date.now(), labelsAreOriginal)) {
        throw new Error('split-stats takes exits (early-exit-gate), frames (bottleneck-encode, mqtt-transmit on the cloud), answers (mqtt-transmit on the edge, tail-infer) and caught errors');
      }
    });

    this.on('close', () => {
      closed = true;
      clearInterval(timer);
      unserve();
      status.stop();
      for (const off of detach) off();
    });
  }
  RED.nodes.registerType('split-stats', SplitStats);
}

module.exports = register;
