// The cloud end of the link: receives features frames (as one member of a shared
// subscription group on an MQTT 5 broker) and publishes answers back to each gateway.
// Answers need no durable store: a gateway resends anything unanswered. In a shared group
// the link also hears the other tails' answers, so a resent frame that any tail answered
// is answered again from that copy, and gaps are judged on what the whole group has seen.
// A frame's gateway is the topic's (the broker's ACL enforces it): a header that claims
// another is refused unanswered, and caches and answer topics go by the topic. Work per
// message is bounded (MAX_BATCH_FRAMES frames) and so is state per gateway.
// A gateway whose birth announces a v2 context is answered in v2 on its one answer topic
// (compact task answers that echo their frame's CRC); its v2 frames are turned back into
// v1 here, so the flow downstream sees one format. Answers go at QoS 0, except the first
// on each topic per connection and re-answers to resent frames, at QoS 1.
import { EventEmitter } from 'node:events';
import * as mqtt from 'mqtt';
import { decodeFrame, decodeFrameV2, encodeAnswerV2, encodeFrame, Frame, framesOf, isFrameV2, LinkContext } from '../wire';
import { contextOfBirth, frameCrc } from './wire-context';
import { AnswerBatcher } from './answer-batch';
import { connectWhenReady, describeLinkError, disableNagle, LinkSettings } from './connect';
import { ControlPlane } from './control';
import { topics, parseTopic, topicMatches, TAIL_GROUP } from './topics';
import { GapWatch, frameKey, touch } from './sequence';
import { BoundedMap } from './bounded-map';
import { headerDisagrees, Refusal, RefusalReason, topicIdentity } from './identity';

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
  /** Gateways whose birth/death state is kept, at most (least recently heard forgotten). */
  maxGateways?: number;
  /** Bytes of one features message at most, inflated (default 256 KiB; gateways send 16 KiB batches). */
  maxMessageBytes?: number;
  /** Answer v2 gateways with the JSON body instead of the task's compact bytes (debugging; ~60 B more each). */
  jsonAnswers?: boolean;
}

/**
 * What one message may cost a tail: its CRCs run at roughly 16 MB/s on a small ARM or a
 * busy x86 core, so 256 KiB is ~16 ms of event loop, where 16 MiB (the batch format's own
 * cap) was seconds.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface GatewayState { gateway: string; live: boolean; bootId: number; since: number; body?: Record<string, unknown> }

export interface CloudLinkStats {
  state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  received: number; answered: number; messages: number; queued: number; duplicates: number;
  gapsOpen: number; gapsReported: number; lastError: string | null; subscription: string;
  /** Frames refused: not parsing (malformed), or a header naming another gateway than the topic (forged). */
  malformed: number; forged: number;
  /** Seq jumps too long to be gaps (counted, not enumerated). */
  seqResets: number;
}

export class CloudLink extends EventEmitter {
  private client: mqtt.MqttClient | null = null;
  private stopConnecting: () => void = () => undefined;
  private state: CloudLinkStats['state'] = 'connecting';
  private lastError: string | null = null;
  private readonly queue: { topic: string; message: Buffer; answers: number }[] = [];
  private readonly counts = { received: 0, answered: 0, messages: 0, duplicates: 0, malformed: 0, forged: 0 };
  private readonly batcher: AnswerBatcher;
  private readonly answers: BoundedMap<string, { topic: string; answer: Buffer }>;
  /** v2 contexts from the gateways' births, and the v1 CRC of each frame received (what its v2 answer echoes). */
  private readonly contexts: BoundedMap<string, LinkContext>;
  private readonly crcs: BoundedMap<string, number>;
  /** Answer topics a QoS 1 answer has gone to on this connection (then QoS 0). */
  private readonly confirmed = new Set<string>();
  readonly framesSubscription: string;
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
    this.answers = new BoundedMap(opts.answers ?? 8192);
    this.crcs = new BoundedMap(opts.answers ?? 8192);
    this.contexts = new BoundedMap(opts.maxGateways ?? 4096);
    this.framesSubscription = topics.allFrames(this.shared, opts.group ?? TAIL_GROUP);
    this.batcher = new AnswerBatcher((topic, message, answers) => this.publish(topic, message, answers), opts.batchWaitMs);
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  static async open(opts: CloudLinkOptions): Promise<CloudLink> {
    const link = new CloudLink(opts);
    link.stopConnecting = connectWhenReady(opts.settings, {}, (client) => {
      link.client = client;
      client.on('connect', () => link.onConnect());
      client.on('close', () => link.setState('disconnected'));
      client.on('error', (err) => link.fail(err));
      client.on('message', (topic, payload) => link.onMessage(topic, payload));
    }, (err) => { link.fail(err); link.setState('disconnected'); });
    return link;
  }

  private setState(state: CloudLinkStats['state']): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private fail(err: Error): void {
    const e = describeLinkError(err, this.opts.settings);
    this.lastError = e.message;
    this.emit('link-error', e);
  }

  private onConnect(): void {
    this.lastError = null;
    disableNagle(this.client!);
    const subs: mqtt.ISubscriptionMap = { [this.subscription]: { qos: 1 }, [this.framesSubscription]: { qos: 1 }, [topics.allStates]: { qos: 1 } };
    for (const filter of this.controlPlane.filters) subs[filter] = { qos: 1 };
    // The other tails' answers (not our own echoed back: noLocal).
    if (this.shared) Object.assign(subs, { [topics.allResults]: { qos: 1, nl: true }, [topics.allAnswers]: { qos: 1, nl: true } });
    this.confirmed.clear();
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
    if (parts?.kind !== 'features' && parts?.kind !== 'frames' && [...this.controlPlane.filters].some((f) => topicMatches(f, topic))) this.emit('control', topic, payload);
    else if (parts?.kind === 'state') this.onState(parts.gateway, payload, topic);
    else if (parts?.kind === 'results' || parts?.kind === 'answers') this.onAnswersSeen(payload, topic);
    else this.onMessageFrames(payload, topic);
  }

  /** Counted once, under the gateway of the topic it came on; never answered. */
  private refuse(reason: RefusalReason, topic: string, detail: string): void {
    this.counts[reason === 'forged' ? 'forged' : 'malformed']++;
    const r: Refusal = { gateway: parseTopic(topic)?.gateway ?? 'unknown', reason, topic, detail };
    this.emit('refused', r);
  }

  /** A features message: one frame, or a batch (at most MAX_BATCH_FRAMES) whose answers then leave together. */
  private onMessageFrames(payload: Buffer, topic: string): void {
    const gateway = parseTopic(topic)?.kind === 'frames' ? parseTopic(topic)!.gateway : null;
    const on = gateway ? { gateway, model: '' } : topicIdentity(topic);
    if (!on) return this.refuse('malformed', topic, 'not a features topic');
    const ctx = gateway ? this.contexts.get(gateway) : undefined;
    if (gateway && !ctx) return this.refuse('malformed', topic, 'v2 frames from a gateway whose birth (v2 context) has not come yet; it will resend');
    const cap = this.opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (payload.length > cap) return this.refuse('malformed', topic, `a message of ${payload.length} bytes, cap ${cap}`);
    let frames: Buffer[];
    try {
      frames = framesOf(payload, { maxBodyBytes: cap });
    } catch (err) {
      // The gateway resends every frame of it that stays unanswered: nothing is lost.
      this.fail(new Error(`malformed batch on ${topic}: ${(err as Error).message}`));
      return this.refuse('malformed', topic, `malformed batch: ${(err as Error).message}`);
    }
    const good: Frame[] = [];
    const bytes: Buffer[] = [];
    frames.forEach((frame, i) => {
      let f: Frame;
      try {
        // v2 is read against the birth's context and handed on as the v1 frame it stands for.
        if (ctx) {
          const m = decodeFrameV2(frame, ctx, { maxPayloadBytes: cap });
          if (m.kind !== 'features') return this.refuse('malformed', topic, `frame ${i}: a ${m.kind} on a frames topic`);
          f = m.frame;
          frame = encodeFrame(f);
        } else f = decodeFrame(frame, { maxPayloadBytes: cap });
      } catch (err) { return this.refuse('malformed', topic, `frame ${i}: ${(err as Error).message}`); }
      if (f.kind !== 'features') return this.refuse('malformed', topic, `frame ${i}: a ${f.kind} frame on a features topic`);
      // What a gateway cannot be made to publish under another's name, it can still write in a header.
      const forged = !ctx && headerDisagrees(f, on);
      if (forged) return this.refuse('forged', topic, `frame ${i} (boot ${f.bootId}, seq ${f.seq}): ${forged}`);
      good.push(f);
      bytes.push(frame);
    });
    if (good.length > 1) this.batcher.expect(this.answerTopic(on.gateway, good[0].modelId), good.map((f) => frameKey(f, on.gateway)));
    good.forEach((f, i) => this.onFrame(bytes[i], f, topics.features(on.gateway, f.modelId), on.gateway));
  }

  /** Where a gateway's answers go: its one v2 topic once its birth announced a context. */
  private answerTopic(gateway: string, model: string): string {
    return this.contexts.has(gateway) ? topics.answers(gateway) : topics.results(gateway, model);
  }

  private onFrame(payload: Buffer, f: Frame, topic: string, gateway: string): void {
    this.gaps.see(gateway, f.bootId, f.seq);
    const key = frameKey(f, gateway);
    this.crcs.set(key, frameCrc(payload));
    const known = this.answers.get(key);
    if (known) {
      // A resend: the gateway missed the answer (a broker restart, say, or a refusal at QoS 0), not the inference.
      this.counts.duplicates++;
      this.confirmed.delete(known.topic);
      this.answer(key, known.topic, known.answer);
      return;
    }
    this.counts.received++;
    this.emit('frame', payload, topic);
  }

  /** The other tails' answers; one whose header names another gateway than its topic is not remembered. */
  private onAnswersSeen(payload: Buffer, topic: string): void {
    const parts = parseTopic(topic);
    const ctx = parts?.kind === 'answers' ? this.contexts.get(parts.gateway) : undefined;
    const on = topicIdentity(topic);
    let answers: Buffer[];
    try { answers = framesOf(payload); } catch { return; }
    for (const answer of answers) {
      try {
        if (ctx && isFrameV2(answer)) {
          const a = decodeFrameV2(answer, ctx);
          if (a.kind !== 'features') this.remember(a, answer, ctx.gatewayId, topic);
          continue;
        }
        const f = decodeFrame(answer);
        if ((f.kind === 'result' || f.kind === 'ack') && on && !headerDisagrees(f, on)) this.remember(f, answer, on.gateway, topic);
      } catch { continue; }
    }
  }

  private remember(f: { bootId: number; seq: number }, answer: Buffer, gateway: string, topic: string): void {
    this.gaps.see(gateway, f.bootId, f.seq, Date.now(), true);
    this.answers.set(frameKey({ gatewayId: gateway, ...f }, gateway), { topic, answer });
  }

  private sweep(): void {
    if (this.state !== 'connected') return; // deaf, not a gap: the clock restarts on reconnect
    const { gaps, recoveries, resets } = this.gaps.sweep();
    for (const g of gaps) this.emit('gap', g);
    for (const r of recoveries) this.emit('gap-recovered', r);
    for (const r of resets) this.emit('seq-reset', r);
  }

  private onState(gateway: string, payload: Buffer, topic: string): void {
    let f: Frame;
    try { f = decodeFrame(payload); } catch { return; }
    if (f.kind !== 'birth' && f.kind !== 'death') return;
    if (f.gatewayId !== gateway) return this.refuse('forged', topic, `a ${f.kind} whose header says gateway ${f.gatewayId}`);
    const live = this.gateways.get(gateway);
    // The will of an earlier boot, published late (a half-open connection timing out): not news.
    if (f.kind === 'death' && live?.live && live.bootId !== f.bootId) return;
    const state: GatewayState = { gateway, live: f.kind === 'birth', bootId: f.bootId, since: f.timestampMs, body: f.body };
    const ctx = contextOfBirth(gateway, f);
    if (ctx) this.contexts.set(gateway, ctx);
    // Bounded: on a broker that lets anyone publish, made-up gateways must not grow it.
    touch(this.gateways, gateway, () => state, this.opts.maxGateways ?? 4096);
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

  /**
   * Publish a result or ack frame to the gateway it answers: the gateway of `topic` (the
   * features topic its frame came on) when given, which the answer must agree with.
   * Throws WireError if malformed.
   */
  reply(frame: Buffer, topic?: string, compact?: Uint8Array): Frame {
    const f = decodeFrame(frame);
    if (f.kind !== 'result' && f.kind !== 'ack') throw new Error(`cloud mqtt-transmit sends result or ack frames, got ${f.kind}`);
    const on = topic ? topicIdentity(topic) : null;
    const gateway = on?.gateway ?? f.gatewayId;
    const disagrees = on && headerDisagrees(f, on);
    if (disagrees) throw new Error(`an answer to a frame that came on ${topic}: ${disagrees}`);
    const key = frameKey(f, gateway);
    const answerTopic = this.answerTopic(gateway, f.modelId);
    const wire = this.inV2(f, gateway, key, compact) ?? frame;
    this.remember(f, wire, gateway, answerTopic);
    this.answer(key, answerTopic, wire);
    return f;
  }

  /** The v2 form of an answer, when its gateway speaks v2 and this link saw the frame (it echoes the frame's CRC). */
  private inV2(f: Frame, gateway: string, key: string, compact?: Uint8Array): Buffer | null {
    const ctx = this.contexts.get(gateway);
    const echo = this.crcs.get(key);
    if (!ctx || echo === undefined) return null;
    const json = f.kind === 'result' && (!compact || this.opts.jsonAnswers === true);
    const answer = f.kind === 'ack' ? new Uint8Array(0) : json ? f.payload : compact!;
    return encodeAnswerV2({ kind: f.kind as 'result' | 'ack', flags: f.flags, bootId: f.bootId, seq: f.seq, echo, answer, json }, ctx);
  }

  /** With the rest of its batch, or alone. */
  private answer(key: string, topic: string, answer: Buffer): void {
    if (!this.batcher.offer(key, answer)) this.publish(topic, answer, 1);
  }

  private publish(topic: string, message: Buffer, answers: number): void {
    if (this.state !== 'connected' || !this.client) {
      this.queue.push({ topic, message, answers });
      if (this.queue.length > (this.opts.maxQueued ?? 10_000)) this.queue.shift();
      return;
    }
    this.counts.answered += answers;
    this.counts.messages++;
    // The gateway's resend is the retry; QoS 1 only where a silent refusal must be heard.
    const qos = this.confirmed.has(topic) ? 0 : 1;
    if (qos && this.confirmed.size < (this.opts.maxGateways ?? 4096)) this.confirmed.add(topic);
    this.client.publish(topic, message, { qos }, (err) => {
      if (err && typeof (err as { code?: unknown }).code === 'number') {
        this.confirmed.delete(topic);
        this.fail(new Error(`broker refused answers on ${topic}: ${err.message}`));
      }
    });
  }

  stats(): CloudLinkStats {
    return {
      state: this.state, ...this.counts, queued: this.queue.length, gapsOpen: this.gaps.open(), gapsReported: this.gaps.reported, seqResets: this.gaps.resetCount,
      lastError: this.lastError, subscription: this.subscription,
    };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.batcher.flushAll();
    this.state = 'closed';
    clearInterval(this.timer);
    this.stopConnecting();
    const client = this.client;
    await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
  }
}
