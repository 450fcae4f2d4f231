// Per-gateway figures of one process: every observation goes both into the Prometheus
// metrics (cumulative) and into a sliding window (what the dashboard shows: the last
// few seconds). Edge observations (exits, sent frames, answers) and cloud observations
// (frames received, tail answers) may come from the same process (the all-in-one flow)
// or from different ones; the summary prefers the edge's view where both exist.
import type { PromiseReport } from '../exit/promise';
import type { Registry } from 'prom-client';
import { SequenceTracker } from '../link/sequence';
import { createRegistry, SplitMetrics } from './prometheus';
import { SlidingWindow, quantile } from './window';
import type { AnswerFigures, AnswerKind, Outcome } from './answers';

export interface EdgeLinkSnapshot {
  state: string; pending: number; inflight: number; dropped: number; resent: number;
  malformedAnswers?: number; refusedAnswers?: number;
  /** Frame bytes as published, and the socket's bytes each way (cumulative). */
  frameBytesSent?: number; linkBytesSent?: number; linkBytesReceived?: number;
  rttMsP50: number | null; rttMsP95: number | null;
}

export interface GatewaySummary {
  gateway: string;
  /** connected / disconnected / … (the gateway's own link), or live / gone (seen from the cloud). */
  link: string | null;
  fps: number;
  exitRatio: number | null;
  /** Per forwarded frame: payload bytes (coded symbols), frame bytes (the wire frame), link bytes (socket, both ways, everything). */
  payloadBytesPerFrame: number | null;
  bytesPerFrame: number | null;
  linkBytesPerFrame: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  accuracy: number | null;
  /** Share of answers equal to the original model's, where that is what the frames were judged by. */
  agreement: number | null;
  /** Kind of the last answer (classification, multilabel, detection, tensors). */
  task: AnswerKind | null;
  /** Detection: boxes per answer; multilabel: labels set per answer. */
  objectsPerAnswer: number | null;
  labelsPerAnswer: number | null;
  outbox: number | null;
  rateLevel: number | null;
  rateAuto: boolean | null;
  threshold: number | null;
  gaps: number;
  duplicates: number;
  errors: number;
  /** Frames and answers refused: forged, malformed, not echoing their frame. */
  refused: number;
  /** Frames shed before the head (admission), since the process started. */
  shed: number;
  /** The exit promise's live audit, when the gate runs one: epsilon, audited disagreement and its anytime-valid upper bound. */
  audit: { epsilon: number; disagreement: number | null; upper: number; state: 'held' | 'tightened' | 'stream-changed' | 'paused' } | null;
}

interface Gateway {
  window: SlidingWindow;
  firstSeen: number;
  threshold: number | null;
  rateLevel: number | null;
  rateAuto: boolean | null;
  task: AnswerKind | null;
  link: string | null;
  linkFromEdge: boolean;
  outbox: number | null;
  tracker: SequenceTracker;
  gapsOpen: number;
  duplicates: number;
  errors: number;
  /** Frames and answers refused: forged, malformed, not echoing their frame. */
  refused: number;
  shed: number;
  audit: GatewaySummary['audit'];
  /** Last cumulative link counts, to turn them into counter increments. */
  linkCounts: Record<LinkCount, number>;
}

const KEEP_SEC = 60;

/** The edge link's cumulative counts, and the counter each one feeds. */
const LINK_COUNTS = {
  dropped: 'outboxDropped', resent: 'resent', malformedAnswers: 'parseErrors', refusedAnswers: 'refusedAnswers',
  frameBytesSent: 'linkFrameBytes', linkBytesSent: 'linkBytes', linkBytesReceived: 'linkBytes',
} as const;
const LINK_DIRECTION: Partial<Record<LinkCount, string>> = { linkBytesSent: 'up', linkBytesReceived: 'down' };
type LinkCount = keyof typeof LINK_COUNTS;

/** An answer seen at the edge: how it scored, how long it took, what it found. */
export interface AnswerSeen { outcome: Outcome; latencyMs?: number; figures?: AnswerFigures }

export class FleetStats {
  readonly registry: Registry;
  readonly metrics: SplitMetrics;
  private readonly gateways = new Map<string, Gateway>();
  private readonly maxGateways: number;

  /**
   * @param maxGateways gateways tracked by name; the rest are summed as "other", so a
   *   flood of made-up gateway ids cannot grow the label set without bound
   */
  constructor(opts: { maxGateways?: number; defaultMetrics?: boolean } = {}) {
    ({ registry: this.registry, metrics: this.metrics } = createRegistry(opts.defaultMetrics ?? false));
    this.maxGateways = opts.maxGateways ?? 1000;
  }

  private gw(id: string, now: number): [string, Gateway] {
    let name = id || 'unknown';
    if (!this.gateways.has(name) && this.gateways.size >= this.maxGateways) name = 'other';
    let g = this.gateways.get(name);
    if (!g) {
      g = {
        window: new SlidingWindow(KEEP_SEC), firstSeen: now, threshold: null, rateLevel: null, rateAuto: null, task: null,
        link: null, linkFromEdge: false, outbox: null, tracker: new SequenceTracker(), gapsOpen: 0, duplicates: 0, errors: 0, refused: 0, shed: 0, audit: null,
        linkCounts: { dropped: 0, resent: 0, malformedAnswers: 0, refusedAnswers: 0, frameBytesSent: 0, linkBytesSent: 0, linkBytesReceived: 0 },
      };
      this.gateways.set(name, g);
    }
    return [name, g];
  }

  private setThreshold(gateway: string, g: Gateway, threshold: number | undefined): void {
    if (threshold === undefined || !Number.isFinite(threshold)) return;
    g.threshold = threshold;
    this.metrics.threshold.set({ gateway }, threshold);
  }

  private result(gateway: string, g: Gateway, source: 'edge' | 'cloud', o: AnswerSeen, now: number): void {
    const { outcome, latencyMs, figures } = o;
    this.metrics.results.inc({ gateway, source, outcome });
    if (outcome !== 'unlabelled' && outcome !== 'error') g.window.count(outcome, 1, now);
    if (figures && outcome !== 'error') {
      g.task = figures.kind;
      this.metrics.taskResults.inc({ gateway, source, task: figures.kind });
      if (figures.objects !== undefined) {
        this.metrics.detectedObjects.inc({ gateway, source }, figures.objects);
        g.window.count('detections', 1, now);
        g.window.count('objects', figures.objects, now);
      }
      if (figures.positives !== undefined) {
        this.metrics.positiveLabels.inc({ gateway, source }, figures.positives);
        g.window.count('multilabels', 1, now);
        g.window.count('positives', figures.positives, now);
      }
    }
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      this.metrics.latency.observe({ gateway, source }, latencyMs / 1000);
      g.window.sample('latency', latencyMs, now);
    }
  }

  /** A frame answered by the early exit at the edge. */
  exit(id: string, o: AnswerSeen & { threshold?: number; promise?: PromiseReport }, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    this.metrics.frames.inc({ gateway, path: 'exit' });
    g.window.count('exit', 1, now);
    this.setThreshold(gateway, g, o.threshold);
    if (o.promise) this.promise(gateway, o.promise);
    this.result(gateway, g, 'edge', o, now);
  }

  /** The exit promise and its live audit evidence, as the gate reported it. */
  private promise(gateway: string, p: PromiseReport): void {
    const m = this.metrics;
    const state = p.paused ? 'paused' : p.streamChanged ? 'stream-changed' : p.tightened ? 'tightened' : 'held';
    this.gateways.get(gateway)!.audit = { epsilon: p.epsilon, disagreement: p.audits ? p.disagreements / p.audits : null, upper: p.upper, state };
    m.promiseEpsilon.set({ gateway }, p.epsilon);
    m.auditUpper.set({ gateway }, p.upper);
    m.auditLower.set({ gateway }, p.lower);
    m.audits.set({ gateway, outcome: 'agree' }, p.audits - p.disagreements);
    m.audits.set({ gateway, outcome: 'disagree' }, p.disagreements);
    for (const s of ['held', 'tightened', 'stream-changed', 'paused']) m.auditState.set({ gateway, state: s }, s === state ? 1 : 0);
  }

  /** A frame encoded at the edge and handed to the link. */
  sent(id: string, o: { bytes: number; payloadBytes?: number; rate: number; auto?: boolean; threshold?: number }, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    this.metrics.frames.inc({ gateway, path: 'forward' });
    if (o.payloadBytes !== undefined) {
      this.metrics.payloadBytes.inc({ gateway }, o.payloadBytes);
      g.window.count('payloadBytes', o.payloadBytes, now);
    }
    this.metrics.transmittedBytes.inc({ gateway }, o.bytes);
    this.metrics.frameBytes.observe({ gateway }, o.bytes);
    this.metrics.rateLevel.set({ gateway }, o.rate);
    g.window.count('forward', 1, now);
    g.window.count('sentBytes', o.bytes, now);
    g.rateLevel = o.rate;
    if (o.auto !== undefined) {
      g.rateAuto = o.auto;
      this.metrics.rateAuto.set({ gateway }, o.auto ? 1 : 0);
    }
    this.setThreshold(gateway, g, o.threshold);
  }

  /** The cloud's answer, arrived back at the edge. */
  answer(id: string, o: AnswerSeen, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    this.result(gateway, g, 'cloud', o, now);
  }

  /** A features frame arrived at the cloud (before the tail). */
  received(id: string, o: { bootId: number; seq: number; bytes: number; rate: number }, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    // Duplicates only: in a shared group this runtime sees part of each stream, so its
    // own view of the sequence says nothing about gaps (the cloud link reports those).
    const seen = g.tracker.see(gateway, o.bootId, o.seq);
    this.metrics.cloudFrames.inc({ gateway });
    this.metrics.cloudBytes.inc({ gateway }, o.bytes);
    if (seen.duplicate) {
      g.duplicates++;
      this.metrics.duplicates.inc({ gateway });
      return;
    }
    g.window.count('cloudFrames', 1, now);
    g.window.count('cloudBytes', o.bytes, now);
    if (!g.linkFromEdge) g.rateLevel = o.rate;
  }

  /** The tail answered a frame (or refused it). */
  served(id: string, o: { latencyMs?: number; error?: unknown }, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    const failed = o.error !== undefined && o.error !== null;
    this.metrics.tailResults.inc({ gateway, outcome: failed ? 'error' : 'ok' });
    if (!failed && o.latencyMs !== undefined && Number.isFinite(o.latencyMs) && o.latencyMs >= 0) {
      this.metrics.tailLatency.observe({ gateway }, o.latencyMs / 1000);
      g.window.sample('tailLatency', o.latencyMs, now);
    }
  }

  /** Frames the cloud link reported missing (count > 0) or, later, recovered (count < 0). */
  gap(id: string, count: number, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    if (count > 0) this.metrics.gaps.inc({ gateway }, count);
    else this.metrics.gapsRecovered.inc({ gateway }, -count);
    g.gapsOpen = Math.max(0, g.gapsOpen + count);
    this.metrics.gapsOpen.set({ gateway }, g.gapsOpen);
  }

  /** An error some node raised (seen through a catch node). */
  error(id: string, node: string, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    g.errors++;
    this.metrics.errors.inc({ gateway, node: node || 'unknown' });
  }

  /** A frame or message the cloud link refused, under the gateway of the topic it came on. */
  refused(id: string, reason: 'forged' | 'malformed' | 'mismatch', now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    g.refused++;
    this.metrics[reason === 'forged' ? 'forged' : reason === 'malformed' ? 'parseErrors' : 'refusedAnswers'].inc({ gateway });
  }

  /** A sequence jump too long to be a gap. */
  seqReset(id: string, now = Date.now()): void {
    const [gateway] = this.gw(id, now);
    this.metrics.seqResets.inc({ gateway });
  }

  /** The gateway's own link, read on the edge. */
  edgeLink(id: string, s: EdgeLinkSnapshot, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    g.link = s.state;
    g.linkFromEdge = true;
    g.outbox = s.pending;
    const m = this.metrics;
    m.outbox.set({ gateway }, s.pending);
    m.inflight.set({ gateway }, s.inflight);
    m.linkUp.set({ gateway }, s.state === 'connected' ? 1 : 0);
    m.brokerUp.set({ side: 'edge' }, s.state === 'connected' ? 1 : 0);
    if (s.rttMsP50 !== null) m.linkRtt.set({ gateway, quantile: '0.5' }, s.rttMsP50 / 1000);
    if (s.rttMsP95 !== null) m.linkRtt.set({ gateway, quantile: '0.95' }, s.rttMsP95 / 1000);
    // The link's counts start again when the link is reopened (a full redeploy).
    for (const key of Object.keys(LINK_COUNTS) as LinkCount[]) {
      const n = s[key] ?? 0;
      const last = n < g.linkCounts[key] ? 0 : g.linkCounts[key];
      const direction = LINK_DIRECTION[key];
      if (n > last) m[LINK_COUNTS[key]].inc(direction ? { gateway, direction } : { gateway }, n - last);
      if (direction && n > last) g.window.count('linkBytes', n - last, now);
      if ((key === 'malformedAnswers' || key === 'refusedAnswers') && n > last) g.refused += n - last;
      g.linkCounts[key] = n;
    }
  }

  /** This runtime's split-head admissions (cumulative shed count, frames waiting), read on the edge. */
  admission(id: string, a: { shed: number; waiting: number }, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    if (a.shed > g.shed) this.metrics.shed.inc({ gateway }, a.shed - g.shed);
    g.shed = Math.max(g.shed, a.shed);
    this.metrics.headWaiting.set({ gateway }, a.waiting);
  }

  /** A gateway's birth (live) or death, as the cloud sees it. */
  gatewayLive(id: string, live: boolean, now = Date.now()): void {
    const [gateway, g] = this.gw(id, now);
    if (g.linkFromEdge) return;
    g.link = live ? 'live' : 'gone';
    this.metrics.linkUp.set({ gateway }, live ? 1 : 0);
  }

  cloudBroker(state: string): void {
    this.metrics.brokerUp.set({ side: 'cloud' }, state === 'connected' ? 1 : 0);
  }

  summary(windowSec: number, now = Date.now()): GatewaySummary[] {
    return [...this.gateways.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([gateway, g]) => {
      const w = windowSec;
      const sum = (key: string) => g.window.sum(key, w, now);
      // The window is `w` whole seconds up to now, or less while the gateway is new.
      const span = Math.max(1, Math.min(w - 1 + (now % 1000) / 1000, (now - g.firstSeen) / 1000));
      const exits = sum('exit');
      const forwards = sum('forward');
      const edgeFrames = exits + forwards;
      const cloudFrames = sum('cloudFrames');
      const judged = sum('correct') + sum('wrong');
      const compared = sum('agree') + sum('disagree');
      const per = (found: string, answers: string) => (sum(answers) ? sum(found) / sum(answers) : null);
      let latencies = g.window.values('latency', w, now);
      if (!latencies.length) latencies = g.window.values('tailLatency', w, now);
      return {
        gateway,
        link: g.link,
        fps: (edgeFrames || cloudFrames) / span,
        exitRatio: edgeFrames ? exits / edgeFrames : null,
        payloadBytesPerFrame: forwards && sum('payloadBytes') ? sum('payloadBytes') / forwards : null,
        bytesPerFrame: forwards ? sum('sentBytes') / forwards : cloudFrames ? sum('cloudBytes') / cloudFrames : null,
        linkBytesPerFrame: forwards && sum('linkBytes') ? sum('linkBytes') / forwards : null,
        latencyP50Ms: quantile(latencies, 0.5),
        latencyP95Ms: quantile(latencies, 0.95),
        accuracy: judged ? sum('correct') / judged : null,
        agreement: compared ? sum('agree') / compared : null,
        task: g.task,
        objectsPerAnswer: per('objects', 'detections'),
        labelsPerAnswer: per('positives', 'multilabels'),
        outbox: g.outbox,
        rateLevel: g.rateLevel,
        rateAuto: g.rateAuto,
        threshold: g.threshold,
        gaps: g.gapsOpen,
        duplicates: g.duplicates,
        errors: g.errors,
        refused: g.refused,
        shed: g.shed,
        audit: g.audit,
      };
    });
  }

  /** Forget everything (tests; a process normally keeps its counters). */
  clear(): void {
    this.gateways.clear();
    this.registry.resetMetrics();
  }
}

let processFleet: FleetStats | null = null;

/** The one FleetStats of this process, with Node.js process metrics: what /metrics serves. */
export function fleetOfProcess(): FleetStats {
  processFleet ??= new FleetStats({ defaultMetrics: true });
  return processFleet;
}
