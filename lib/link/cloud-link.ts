// The cloud end of the link: receives features frames (as one member of a shared
// subscription group on an MQTT 5 broker) and publishes answers back to each gateway.
// Answers need no durable store: a gateway resends anything unanswered.
import { EventEmitter } from 'node:events';
import * as mqtt from 'mqtt';
import { decodeFrame, Frame } from '../wire';
import { clientOptions, disableNagle, LinkSettings } from './connect';
import { topics, parseTopic, TAIL_GROUP } from './topics';

export interface CloudLinkOptions {
  settings: LinkSettings;
  /** Shared subscription group; null = plain subscription (also forced on MQTT 3.1.1). */
  group?: string | null;
  /** Answers held while disconnected, at most (older ones are dropped: gateways resend). */
  maxQueued?: number;
}

export interface GatewayState { gateway: string; live: boolean; since: number; body?: Record<string, unknown> }

export interface CloudLinkStats {
  state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  received: number; answered: number; queued: number; lastError: string | null; subscription: string;
}

export class CloudLink extends EventEmitter {
  private client: mqtt.MqttClient | null = null;
  private state: CloudLinkStats['state'] = 'connecting';
  private lastError: string | null = null;
  private readonly queue: { topic: string; frame: Buffer }[] = [];
  private readonly counts = { received: 0, answered: 0 };
  readonly gateways = new Map<string, GatewayState>();
  readonly subscription: string;

  private constructor(private readonly opts: CloudLinkOptions) {
    super();
    const shared = opts.group !== null && opts.settings.protocolVersion === 5;
    this.subscription = topics.allFeatures(shared, opts.group ?? TAIL_GROUP);
  }

  static async open(opts: CloudLinkOptions): Promise<CloudLink> {
    const link = new CloudLink(opts);
    link.client = mqtt.connect(opts.settings.url, await clientOptions(opts.settings));
    link.client.on('connect', () => link.onConnect());
    link.client.on('close', () => link.setState('disconnected'));
    link.client.on('error', (err) => { link.lastError = err.message; link.emit('link-error', err); });
    link.client.on('message', (topic, payload) => link.onMessage(topic, payload));
    return link;
  }

  private setState(state: CloudLinkStats['state']): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }

  private onConnect(): void {
    this.lastError = null;
    disableNagle(this.client!);
    this.client!.subscribe([this.subscription, topics.allStates], { qos: 1 });
    this.setState('connected');
    for (const { topic, frame } of this.queue.splice(0)) this.publish(topic, frame);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parts = parseTopic(topic);
    if (parts?.kind === 'state') {
      this.onState(parts.gateway, payload);
      return;
    }
    this.counts.received++;
    this.emit('frame', payload, topic);
  }

  private onState(gateway: string, payload: Buffer): void {
    let f: Frame;
    try { f = decodeFrame(payload); } catch { return; }
    if (f.kind !== 'birth' && f.kind !== 'death') return;
    const state: GatewayState = { gateway, live: f.kind === 'birth', since: f.timestampMs, body: f.body };
    this.gateways.set(gateway, state);
    this.emit('gateway', state);
  }

  /** Publish a result or ack frame to the gateway it answers. Throws WireError if malformed. */
  reply(frame: Buffer): Frame {
    const f = decodeFrame(frame);
    if (f.kind !== 'result' && f.kind !== 'ack') throw new Error(`cloud mqtt-transmit sends result or ack frames, got ${f.kind}`);
    this.publish(topics.results(f.gatewayId, f.modelId), frame);
    return f;
  }

  private publish(topic: string, frame: Buffer): void {
    if (this.state !== 'connected' || !this.client) {
      this.queue.push({ topic, frame });
      if (this.queue.length > (this.opts.maxQueued ?? 10_000)) this.queue.shift();
      return;
    }
    this.counts.answered++;
    this.client.publish(topic, frame, { qos: 1 });
  }

  stats(): CloudLinkStats {
    return { state: this.state, ...this.counts, queued: this.queue.length, lastError: this.lastError, subscription: this.subscription };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const client = this.client;
    await new Promise<void>((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
  }
}
