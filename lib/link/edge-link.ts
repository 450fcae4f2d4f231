// The gateway end of the link. Frames go into the durable outbox first, then out over
// MQTT within a window; a frame leaves the outbox only when the cloud answers for it
// (result or ack). The answer is the acknowledgement, so once one has come on this
// connection frames go at QoS 0 (no PUBACK); until then, and after a frame went
// unanswered, at QoS 1, so a broker that refuses them (an ACL) says so. Frames travel in
// wire v2 once a tail has answered in v2 (wire-context.ts), and may wait `coalesceMs`
// to share a message. After a reconnect or restart everything pending is resent;
// a frame with no answer for `resendAfterMs` is resent too (a tail may have died with it).
// At most `publishWindow` messages wait for their PUBACK; frames that queue behind them
// leave together in one batch, so the batches grow exactly when the link is the limit.
// An answer counts only if it echoes its frame (boot, seq, timestamp, model, rate); others
// are counted and refused. A link whose settings cannot be read yet (a CA file missing)
// keeps every frame it accepts and says why until they can.
import { EventEmitter } from 'node:events';
import * as mqtt from 'mqtt';
import { decodeFrame, encodeBatch, encodeFeaturesV2, encodeFrame, framesOf, Frame, MAX_BATCH_FRAMES, WireError } from '../wire';
import { AnswerReader, EdgeWire, IncomingAnswer, parseAnswer, readWithLoadedManifest } from './wire-context';
import { LinkBytes } from './link-bytes';
import { Coalescer } from './coalesce';
import type { EdgeLinkOptions, EdgeLinkStats } from './edge-link-types';
import { Outbox } from './outbox';
import { connectWhenReady, describeLinkError, disableNagle, ConnectionStore } from './connect';
import { Refusal, RefusalReason } from './identity';
import { ControlPlane } from './control';
import { topics, parseTopic } from './topics';

import { RollingWindow, Throughput } from './stats';
import { LATENCY_MEMORY_MS } from '../rate/controller';
import { BOOT_ID, frameKey } from './sequence';

export type { EdgeLinkOptions, EdgeLinkStats };
export { DEFAULT_COALESCE_MS } from './edge-link-types';
export { frameKey };

const isAnswerTopic = (topic: string) => { const kind = parseTopic(topic)?.kind; return kind === 'results' || kind === 'answers'; };


const NO_MODEL = '0000000000000000';

export class EdgeLink extends EventEmitter {
  readonly outbox: Outbox;
  private client: mqtt.MqttClient | null = null;
  private readonly inflight = new Map<string, number>(); // key → sent at (ms)
  /** Key → accepted at (ms), oldest first; frames replayed from disk count from the open. */
  private readonly acceptedAt = new Map<string, number>();
  private readonly openedAt = Date.now();
  private cursor: IterableIterator<[string, Buffer]> | null = null;
  /** Read from the cursor but left for the next batch (another topic, or no room). */
  private held: [string, Buffer] | null = null;
  /** Messages awaiting their PUBACK on this connection; `generation` tells connections apart. */
  private publishing = 0;
  private generation = 0;
  private state: EdgeLinkStats['state'] = 'connecting';
  private lastError: string | null = null;
  private readonly counts = { published: 0, messages: 0, resent: 0, answered: 0, duplicates: 0, malformedAnswers: 0, refusedAnswers: 0, frameBytesSent: 0, qos0: 0, qos1: 0 };
  private readonly wire: EdgeWire;
  private readonly socketBytes = new LinkBytes();
  /** An answer came on this connection and none has gone missing since: frames can skip the PUBACK. */
  private confirmed = false;
  private readonly coalescer: Coalescer;
  /** Pending frames published at least once (or replayed from disk): publishing one again is a resend, whatever the cause. */
  private readonly sentBefore = new Set<string>();
  private stopConnecting: () => void = () => undefined;
  private readonly rtt = new RollingWindow();
  /** The last 2 s only: the rate controller counts on a queue leaving it that fast (LATENCY_MEMORY_MS). */
  private readonly latency = new RollingWindow(256, LATENCY_MEMORY_MS);
  private readonly throughput = new Throughput();
  private readonly timer: NodeJS.Timeout;
  private readonly window: number;
  private readonly resendAfterMs: number;
  private readonly publishWindow: number;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  /** Control-plane topics (updates, health) subscribed on every connect. */
  private readonly controlPlane = new ControlPlane(() => (this.state === 'connected' ? this.client : null));

  private constructor(private readonly opts: EdgeLinkOptions) {
    super();
    this.outbox = new Outbox(opts.outbox);
    this.wire = new EdgeWire(opts.gateway, BOOT_ID, this.openedAt);
    for (const [key, frame] of this.outbox.entries()) {
      this.sentBefore.add(key);
      this.wire.learn(decodeFrame(frame).modelId);
    }
    this.coalescer = new Coalescer(opts.coalesceMs ?? 0, () => this.pump());
    this.window = opts.window ?? 256;
    this.resendAfterMs = opts.resendAfterMs ?? 10_000;
    this.publishWindow = Math.max(1, opts.publishWindow ?? 2);
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? 64, MAX_BATCH_FRAMES));
    this.maxBatchBytes = Math.max(1, opts.maxBatchBytes ?? 16 * 1024);
    this.timer = setInterval(() => this.resendStale(), Math.min(1000, this.resendAfterMs / 2));
    this.timer.unref();
  }

  static async open(opts: EdgeLinkOptions): Promise<EdgeLink> {
    const link = new EdgeLink(opts);
    const will = { topic: topics.state(opts.gateway), payload: link.stateFrame('death', { reason: 'will' }), qos: 1 as const, retain: true };
    // The outbox resends everything pending after a reconnect; mqtt.js must not replay its copies too.
    link.stopConnecting = connectWhenReady(opts.settings, { will, outgoingStore: new ConnectionStore() }, (client) => {
      link.client = client;
      client.on('connect', () => link.onConnect());
      client.on('close', () => link.setState('disconnected'));
      client.on('error', (err) => link.fail(err));
      // Answers clear the outbox; anything else is the control plane's (updates, health).
      client.on('message', (topic, payload) => (isAnswerTopic(topic) ? link.onAnswer(payload, topic) : link.emit('control', topic, payload)));
    }, (err) => { link.fail(err); link.setState('disconnected'); }, opts.retryMs);
    return link;
  }

  private stateFrame(kind: 'birth' | 'death', body: Record<string, unknown>): Buffer {
    return encodeFrame({ kind, rateLevel: 0, modelId: NO_MODEL, gatewayId: this.opts.gateway, bootId: BOOT_ID, seq: 0, timestampMs: Date.now(), shape: [], body });
  }

  private setState(state: EdgeLinkStats['state']): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    if (state !== 'connected') this.restartSending();
    this.emit('state', state);
  }

  private onConnect(): void {
    this.lastError = null;
    const client = this.client!;
    disableNagle(client);
    this.socketBytes.watch(client);
    this.confirmed = false;
    this.wire.reset();
    client.subscribe([topics.resultsFor(this.opts.gateway), topics.answers(this.opts.gateway), ...this.controlPlane.filters], { qos: 1 });
    this.setState('connected');
    this.publishBirth();
    // Everything pending goes again: anything in flight at the drop may be gone.
    this.restartSending();
    this.pump();
  }

  /** The birth, with the v2 context; once the broker has it, frames of its models may go v2. */
  private publishBirth(): void {
    const count = this.wire.ctx.models.length;
    const generation = this.generation;
    const birth = this.stateFrame('birth', { software: this.opts.software ?? 'node-red-contrib-split-dnn', ...this.wire.birthBody() });
    this.client!.publish(topics.state(this.opts.gateway), birth, { qos: 1, retain: true }, (err) => {
      if (err || generation !== this.generation) return;
      this.wire.confirm(count);
      this.pump();
    });
  }

  /** From the oldest pending frame again, with no message counted as in flight. */
  private restartSending(): void {
    this.inflight.clear();
    this.rewind();
    this.publishing = 0;
    this.generation++;
  }

  get gateway(): string { return this.opts.gateway; }
  get connected(): boolean { return this.state === 'connected'; }

  /** Subscribe to a control topic, now and after every reconnect; messages come as 'control' (topic, payload). */
  watch(filter: string): void { this.controlPlane.watch(filter); }

  /** Publish on the control plane at QoS 1; rejects while disconnected. */
  publishControl(topic: string, payload: string | Buffer, retain = false): Promise<void> {
    return this.controlPlane.publish(topic, payload, retain);
  }

  /** Accept a features frame: on disk before this returns. Throws WireError on a bad frame. */
  submit(frame: Buffer): Frame {
    const f = decodeFrame(frame);
    if (f.kind !== 'features') throw new WireError('BAD_KIND', 'kind', `mqtt-transmit on the edge sends features frames, got ${f.kind}`);
    const key = frameKey(f);
    if (this.wire.learn(f.modelId) && this.state === 'connected') this.publishBirth();
    if (!this.outbox.has(key)) this.acceptedAt.set(key, Date.now());
    const evicted = this.outbox.put(key, frame);
    if (evicted) {
      // The cap pushes out the oldest frames, so their accept times are the first ones.
      for (const [old] of this.acceptedAt) {
        if (this.outbox.has(old)) break;
        this.acceptedAt.delete(old);
        this.sentBefore.delete(old);
      }
      this.emit('dropped', evicted);
    }
    this.pump();
    return f;
  }

  /** One message: a lone frame as itself, several as a batch. All share one topic. */
  private publish(topic: string, batch: [string, Buffer][]): void {
    const now = Date.now();
    for (const [key] of batch) {
      this.inflight.set(key, now);
      if (this.sentBefore.has(key)) this.counts.resent++;
      else this.sentBefore.add(key);
    }
    this.counts.published += batch.length;
    this.counts.messages++;
    this.publishing++;
    const generation = this.generation;
    const payload = batch.length === 1 ? batch[0][1] : encodeBatch(batch.map(([, frame]) => frame));
    for (const [, frame] of batch) this.counts.frameBytesSent += frame.length;
    const qos = this.confirmed ? 0 : 1;
    this.counts[qos ? 'qos1' : 'qos0'] += batch.length;
    this.client!.publish(topic, payload, { qos }, (err) => {
      // An MQTT 5 broker says why it refused a frame (an ACL, say); the frame stays pending.
      if (err && typeof (err as { code?: unknown }).code === 'number') this.fail(new Error(`broker refused frames on ${topic}: ${err.message}`));
      if (generation !== this.generation) return; // a message of a connection that is gone
      this.publishing--;
      this.pump();
    });
  }

  private fail(err: Error): void {
    const e = describeLinkError(err, this.opts.settings);
    this.lastError = e.message;
    this.emit('link-error', e);
  }

  private pump(): void {
    if (this.state !== 'connected' || !this.client) return;
    while (this.publishing < this.publishWindow && this.inflight.size < this.window && this.ripe()) {
      const next = this.nextBatch();
      if (!next) return;
      this.publish(next.topic, next.batch);
    }
  }

  /**
   * Whether the frames waiting should leave now: a full batch waits, or the oldest has
   * waited its budget (frames replayed from disk have). Else the pump runs again when it has.
   */
  private ripe(): boolean {
    if (!this.coalescer.budgetMs || this.outbox.size - this.inflight.size >= this.maxBatch) return true;
    for (const [key] of this.outbox.entries()) {
      if (!this.inflight.has(key)) return this.coalescer.due(this.acceptedAt.get(key) ?? 0);
    }
    return true;
  }

  /** The oldest pending frames not in flight that fit one message (same topic, within the caps), in the wire version each may use. */
  private nextBatch(): { topic: string; batch: [string, Buffer][] } | null {
    const batch: [string, Buffer][] = [];
    let topic = '';
    let bytes = 0;
    while (batch.length < this.maxBatch && this.inflight.size + batch.length < this.window) {
      // a held frame may have been answered since (a late answer to an earlier copy)
      const held = this.held && this.outbox.has(this.held[0]) ? this.held : null;
      const entry = held ?? this.nextPending();
      this.held = null;
      if (!entry) break;
      const head = decodeFrame(entry[1]);
      const v2 = this.wire.v2(head);
      const t = v2 ? topics.frames(head.gatewayId) : topics.features(head.gatewayId, head.modelId);
      const wire = v2 ? encodeFeaturesV2(head, this.wire.ctx) : entry[1];
      if (batch.length && (t !== topic || bytes + wire.length > this.maxBatchBytes)) {
        this.held = entry;
        break;
      }
      topic = t;
      bytes += wire.length;
      batch.push([entry[0], wire]);
    }
    return batch.length ? { topic, batch } : null;
  }

  private nextPending(): [string, Buffer] | null {
    for (;;) {
      this.cursor ??= this.outbox.entries();
      const next = this.cursor.next();
      if (next.done) { this.cursor = null; return null; }
      const [key] = next.value;
      if (!this.inflight.has(key)) return next.value;
    }
  }

  private resendStale(): void {
    if (this.state !== 'connected') return;
    const cutoff = Date.now() - this.resendAfterMs;
    let stale = 0;
    for (const [key, sentAt] of this.inflight) {
      if (sentAt > cutoff) break; // insertion order is send order
      this.inflight.delete(key);
      stale++;
    }
    if (!stale) return;
    // Unanswered: perhaps refused unseen at QoS 0, so the resend asks the broker for a PUBACK;
    // and a tail that lost our context (a broker that forgot the retained birth) gets it again.
    this.confirmed = false;
    this.publishBirth();
    // From the oldest again: the stale frames are the oldest pending ones.
    this.rewind();
    this.pump();
  }

  /** The next batch starts again from the oldest pending frame. */
  private rewind(): void {
    this.cursor = null;
    this.held = null;
  }

  private refuse(reason: RefusalReason, topic: string, detail: string): void {
    this.counts[reason === 'malformed' ? 'malformedAnswers' : 'refusedAnswers']++;
    const r: Refusal = { gateway: this.opts.gateway, reason, topic, detail };
    this.emit('refused', r);
  }

  private onAnswer(payload: Buffer, topic: string): void {
    let answers: Buffer[];
    try {
      answers = framesOf(payload);
    } catch (err) {
      this.refuse('malformed', topic, `an answer batch that does not parse: ${(err as Error).message}`);
      return;
    }
    for (const answer of answers) this.onAnswerFrame(answer, topic);
    this.pump();
  }

  private onAnswerFrame(payload: Buffer, topic: string): void {
    let answer: IncomingAnswer;
    try {
      answer = parseAnswer(payload, this.wire.ctx, this.opts.readAnswer ?? readWithLoadedManifest);
    } catch (err) {
      this.refuse('malformed', topic, `an answer that does not parse: ${(err as Error).message}`);
      return;
    }
    // Answers come on this gateway's own topics only (its subscription): the key is ours.
    const key = frameKey({ gatewayId: this.opts.gateway, bootId: answer.bootId, seq: answer.seq });
    const frame = this.outbox.get(key);
    if (!frame) {
      // Already answered: at-least-once delivery means a tail may answer twice.
      this.counts.duplicates++;
      return;
    }
    const sent = decodeFrame(frame);
    const mismatch = answer.mismatch(sent, frame, parseTopic(topic)?.model ?? null);
    if (mismatch) return this.refuse('mismatch', topic, `an answer for seq ${answer.seq} (boot ${answer.bootId}) that does not echo its frame: ${mismatch}`);
    const f = answer.frame(sent);
    // A real answer on this connection: the topic works, frames can skip their PUBACK.
    this.confirmed = true;
    if (answer.v2) this.wire.peerV2 = true;
    const sentAt = this.inflight.get(key);
    this.outbox.ack(key);
    this.inflight.delete(key);
    this.sentBefore.delete(key);
    this.counts.answered++;
    const now = Date.now();
    if (sentAt !== undefined) this.rtt.push(now - sentAt);
    const acceptedAt = this.acceptedAt.get(key);
    // Less the coalescing wait: the rate controller acts on the link, not on a wait the operator chose.
    const chosen = sentAt !== undefined && acceptedAt !== undefined ? Math.min(this.coalescer.budgetMs, sentAt - acceptedAt) : 0;
    if (acceptedAt !== undefined) this.latency.push(now - acceptedAt - Math.max(0, chosen));
    this.acceptedAt.delete(key);
    this.throughput.add(frame.length);
    this.emit('answer', f);
  }

  stats(): EdgeLinkStats {
    const now = Date.now();
    const oldest = this.outbox.entries().next();
    return {
      state: this.state, pending: this.outbox.size, inflight: this.inflight.size, ...this.counts,
      dropped: this.outbox.dropped, rttMsP50: this.rtt.quantile(0.5), rttMsP95: this.rtt.quantile(0.95),
      latencyMsP50: this.latency.quantile(0.5), latencyMsP95: this.latency.quantile(0.95),
      oldestPendingMs: oldest.done ? null : Math.max(0, now - (this.acceptedAt.get(oldest.value[0]) ?? this.openedAt) - this.coalescer.budgetMs),
      ackedBytesPerSec: this.throughput.perSecond(), lastError: this.lastError, durable: this.outbox.durable,
      linkBytesSent: this.socketBytes.sent, linkBytesReceived: this.socketBytes.received, wire: this.wire.peerV2 ? 2 : 1,
    };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    clearInterval(this.timer);
    this.coalescer.close();
    this.stopConnecting();
    const client = this.client;
    if (client?.connected) {
      // A clean shutdown says so, instead of leaving the will to the broker.
      await new Promise<void>((resolve) => client.publish(topics.state(this.opts.gateway), this.stateFrame('death', { reason: 'shutdown' }), { qos: 1, retain: true }, () => resolve()));
    }
    this.state = 'closed';
    await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
    this.outbox.close();
  }
}
