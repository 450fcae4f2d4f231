// The cloud end of the link: receives features frames (as one member of a shared
// subscription group on an MQTT 5 broker) and publishes answers back to each gateway.
// Answers need no durable store: a gateway resends anything unanswered. In a shared group
// the link also hears the other tails' answers, so a resent frame that any tail answered
// is answered again from that copy, and gaps are judged on what the whole group has seen.
import { EventEmitter } from 'node:events';
import * as mqtt from 'mqtt';
import { decodeFrame, Frame, framesOf } from '../wire';
import { AnswerBatcher } from './answer-batch';
import { clientOptions, disableNagle, LinkSettings } from './connect';
import { ControlPlane } from './control';
import { topics, parseTopic, topicMatches, TAIL_GROUP } from './topics';
import { GapWatch, frameKey } from './sequence';

export interface CloudLinkOptions {
  settings: LinkSettings;
  /** Shared subscription group; null = plain subscription (also forced on MQTT 3.1.1). */
  group?: string | null;
  /** Answers held while disconnected, at most (older ones are dropped: gateways resend). */
  maxQueued?: number;
  /** How long a skipped seq may stay unseen before it is reported as a gap (ms). */
  reorderMs?: number;
  /** Answers remembered, to answer resent frames again without a second inference. */
  answers?: number;
  /** This runtime's name on the control plane (updates to a tail, health). */
  name?: string;
  /** How long the answers to one batch wait for the last of them before leaving (ms). */
  batchWaitMs?: number;
}

export interface GatewayState { gateway: string; live: boolean; bootId: number; since: number; body?: Record<string, unknown> }

export interface CloudLinkStats {
  state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  received: number; answered: number; messages: number; queued: number; duplicates: number;
  gapsOpen: number; gapsReported: number; lastError: string | null; subscription: string;
}

export class CloudLink extends EventEmitter {
  private client: mqtt.MqttClient | null = null;
  private state: CloudLinkStats['state'] = 'connecting';
  private lastError: string | null = null;
  private readonly queue: { topic: string; message: Buffer; answers: number }[] = [];
  private readonly counts = { received: 0, answered: 0, messages: 0, duplicates: 0 };
  private readonly batcher: AnswerBatcher;
  private readonly answers = new Map<string, Buffer>();
  private readonly gaps: GapWatch;
  private readonly timer: NodeJS.Timeout;
  private readonly shared: boolean;
  /** Control-plane topics (updates, health) subscribed on every connect. */
  private readonly controlPlane = new ControlPlane(() => (this.state === 'connected' ? this.client : null));
  readonly gateways = new Map<string, GatewayState>();
  readonly subscription: string;

  private constructor(private readonly opts: CloudLinkOptions) {
    super();
    this.shared = opts.group !== null && opts.settings.protocolVersion === 5;
    this.subscription = topics.allFeatures(this.shared, opts.group ?? TAIL_GROUP);
    this.gaps = new GapWatch(opts.reorderMs);
    this.batcher = new AnswerBatcher((topic, message, answers) => this.publish(topic, message, answers), opts.batchWaitMs);
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  static async open(opts: CloudLinkOptions): Promise<CloudLink> {
    const link = new CloudLink(opts);
    link.client = mqtt.connect(opts.settings.url, await clientOptions(opts.settings));
    link.client.on('connect', () => link.onConnect());
    link.client.on('close', () => link.setState('disconnected'));
    link.client.on('error', (err) => link.fail(err));
    link.client.on('message', (topic, payload) => link.onMessage(topic, payload));
    return link;
  }

  private setState(state: CloudLinkStats['state']): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private fail(err: Error): void {
    this.lastError = err.message;
    this.emit('link-error', err);
  }

  private onConnect(): void {
    this.lastError = null;
    disableNagle(this.client!);
    const subs: mqtt.ISubscriptionMap = { [this.subscription]: { qos: 1 }, [topics.allStates]: { qos: 1 } };
    for (const filter of this.controlPlane.filters) subs[filter] = { qos: 1 };
    // The other tails' answers (not our own echoed back: noLocal).
    if (this.shared) subs[topics.allResults] = { qos: 1, nl: true };
    this.client!.subscribe(subs, (err) => {
      // Refused (an ACL, a broker without shared subscriptions): this tail would idle silently.
      if (err) this.fail(new Error(`subscription refused (${Object.keys(subs).join(', ')}): ${err.message}`));
    });
    this.gaps.restartClock();
    this.setState('connected');
    for (const { topic, message, answers } of this.queue.splice(0)) this.publish(topic, message, answers);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parts = parseTopic(topic);
    if (parts?.kind !== 'features' && [...this.controlPlane.filters].some((f) => topicMatches(f, topic))) this.emit('control', topic, payload);
    else if (parts?.kind === 'state') this.onState(parts.gateway, payload);
    else if (parts?.kind === 'results') this.onAnswersSeen(payload);
    else this.onMessageFrames(payload, topic);
  }

  /** A features message: one frame, or a batch whose answers then leave together. */
  private onMessageFrames(payload: Buffer, topic: string): void {
    let frames: Buffer[];
    try {
      frames = framesOf(payload);
    } catch (err) {
      // The gateway resends every frame of it that stays unanswered: nothing is lost.
      this.fail(new Error(`malformed batch on ${topic}: ${(err as Error).message}`));
      return;
    }
    // Undecodable ones go on as null: tail-infer reports why.
    const heads = frames.map((frame) => { try { return decodeFrame(frame); } catch { return null; } });
    if (frames.length > 1) {
      const first = heads.find((f) => f?.kind === 'features');
      if (first) {
        const same = heads.filter((f): f is Frame => f?.kind === 'features' && f.gatewayId === first.gatewayId && f.modelId === first.modelId);
        this.batcher.expect(topics.results(first.gatewayId, first.modelId), same.map(frameKey));
      }
    }
    frames.forEach((frame, i) => this.onFrame(frame, heads[i], topic));
  }

  private onFrame(payload: Buffer, f: Frame | null, topic: string): void {
    if (f?.kind === 'features') {
      this.gaps.see(f.gatewayId, f.bootId, f.seq);
      const known = this.answers.get(frameKey(f));
      if (known) {
        // A resend: the gateway missed the answer (a broker restart, say), not the inference.
        this.counts.duplicates++;
        this.answer(f, known);
        return;
      }
    }
    this.counts.received++;
    this.emit('frame', payload, topic);
  }

  private onAnswersSeen(payload: Buffer): void {
    let answers: Buffer[];
    try { answers = framesOf(payload); } catch { return; }
    for (const answer of answers) {
      let f: Frame;
      try { f = decodeFrame(answer); } catch { continue; }
      if (f.kind === 'result' || f.kind === 'ack') this.remember(f, answer);
    }
  }

  private remember(f: Frame, answer: Buffer): void {
    this.gaps.see(f.gatewayId, f.bootId, f.seq);
    if (this.answers.size >= (this.opts.answers ?? 8192)) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(frameKey(f), answer);
  }

  private sweep(): void {
    if (this.state !== 'connected') return; // deaf, not a gap: the clock restarts on reconnect
    const { gaps, recoveries } = this.gaps.sweep();
    for (const g of gaps) this.emit('gap', g);
    for (const r of recoveries) this.emit('gap-recovered', r);
  }

  private onState(gateway: string, payload: Buffer): void {
    let f: Frame;
    try { f = decodeFrame(payload); } catch { return; }
    if (f.kind !== 'birth' && f.kind !== 'death') return;
    const live = this.gateways.get(gateway);
    // The will of an earlier boot, published late (a half-open connection timing out): not news.
    if (f.kind === 'death' && live?.live && live.bootId !== f.bootId) return;
    const state: GatewayState = { gateway, live: f.kind === 'birth', bootId: f.bootId, since: f.timestampMs, body: f.body };
    this.gateways.set(gateway, state);
    this.emit('gateway', state);
  }

  /** This runtime's name on the control plane (its split-link's gateway id). */
  get gateway(): string { return this.opts.name ?? 'cloud'; }
  get connected(): boolean { return this.state === 'connected'; }

  /** Subscribe to a control topic, now and after every reconnect; messages come as 'control' (topic, payload). */
  watch(filter: string): void { this.controlPlane.watch(filter); }

  /** Publish on the control plane at QoS 1; rejects while disconnected. */
  publishControl(topic: string, payload: string | Buffer, retain = false): Promise<void> {
    return this.controlPlane.publish(topic, payload, retain);
  }

  /** Publish a result or ack frame to the gateway it answers. Throws WireError if malformed. */
  reply(frame: Buffer): Frame {
    const f = decodeFrame(frame);
    if (f.kind !== 'result' && f.kind !== 'ack') throw new Error(`cloud mqtt-transmit sends result or ack frames, got ${f.kind}`);
    this.remember(f, frame);
    this.answer(f, frame);
    return f;
  }

  /** With the rest of its batch, or alone. */
  private answer(f: Frame, answer: Buffer): void {
    if (!this.batcher.offer(frameKey(f), answer)) this.publish(topics.results(f.gatewayId, f.modelId), answer, 1);
  }

  private publish(topic: string, message: Buffer, answers: number): void {
    if (this.state !== 'connected' || !this.client) {
      this.queue.push({ topic, message, answers });
      if (this.queue.length > (this.opts.maxQueued ?? 10_000)) this.queue.shift();
      return;
    }
    this.counts.answered += answers;
    this.counts.messages++;
    this.client.publish(topic, message, { qos: 1 });
  }

  stats(): CloudLinkStats {
    return {
      state: this.state, ...this.counts, queued: this.queue.length, gapsOpen: this.gaps.open(), gapsReported: this.gaps.reported,
      lastError: this.lastError, subscription: this.subscription,
    };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.batcher.flushAll();
    this.state = 'closed';
    clearInterval(this.timer);
    const client = this.client;
    await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
  }
}
