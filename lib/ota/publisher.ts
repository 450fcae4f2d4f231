// The cloud side of an over-the-air update: announces a signed bundle (a retained offer
// to gateways and/or groups), serves the chunks gateways ask for, and collects their
// reports. Gateways pull, so a gateway that was off or killed mid-way simply asks again.
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as mqtt from 'mqtt';
import { clientOptions, LinkSettings } from '../link/connect';
import { topics, NAME } from '../link/topics';
import { buildOffer, ChunkRequest, encodeChunk, Offer, safeRelative } from './offer';

export interface PublisherOptions {
  settings: LinkSettings;
  bundleDir: string;
  gateways?: string[];
  groups?: string[];
  chunkSize?: number;
  /** Cap on bytes served per second (a cellular link, a busy broker); 0 = no cap. */
  maxBytesPerSec?: number;
  /** Offer a URL (a local HTTP server) instead of MQTT chunks. */
  url?: string;
}

export interface UpdateReport { gateway: string; modelId: string; state: string; version?: string; reason?: string; [k: string]: unknown }

export class BundlePublisher extends EventEmitter {
  private client: mqtt.MqttClient | null = null;
  private readonly files = new Map<string, Buffer>();
  private queue: Promise<void> = Promise.resolve();
  readonly reports = new Map<string, UpdateReport>();
  servedBytes = 0;

  private constructor(readonly offer: Offer, private readonly opts: PublisherOptions) { super(); }

  static async open(opts: PublisherOptions): Promise<BundlePublisher> {
    for (const name of [...(opts.gateways ?? []), ...(opts.groups ?? [])]) {
      if (!NAME.test(name)) throw new Error(`"${name}" is not a gateway or group name (1-64 of A-Z a-z 0-9 . _ -)`);
    }
    if (!opts.gateways?.length && !opts.groups?.length) throw new Error('name at least one --gateway or --group to offer the bundle to');
    const offer = await buildOffer(opts.bundleDir, { chunkSize: opts.chunkSize, url: opts.url });
    const pub = new BundlePublisher(offer, opts);
    for (const f of offer.files) pub.files.set(f.path, await fs.readFile(path.join(opts.bundleDir, safeRelative(f.path))));
    const client = mqtt.connect(opts.settings.url, await clientOptions(opts.settings));
    pub.client = client;
    client.on('message', (topic, payload) => pub.onMessage(topic, payload));
    client.on('error', (err) => pub.emit('link-error', err));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync({ [topics.otaFetchAll]: { qos: 1 }, [topics.otaReportAll]: { qos: 1 } });
    const payload = JSON.stringify(offer);
    for (const t of pub.offerTopics()) await client.publishAsync(t, payload, { qos: 1, retain: true });
    return pub;
  }

  private offerTopics(): string[] {
    return [...(this.opts.gateways ?? []).map(topics.otaOffer), ...(this.opts.groups ?? []).map(topics.otaGroupOffer)];
  }

  private onMessage(topic: string, payload: Buffer): void {
    const gateway = topic.split('/')[1];
    let body: Record<string, unknown>;
    try { body = JSON.parse(payload.toString()); } catch { return; }
    if (topic.endsWith('/ota/report')) {
      const r = body as UpdateReport;
      if (r.modelId !== this.offer.modelId) return;
      this.reports.set(gateway, { ...r, gateway });
      this.emit('report', { ...r, gateway });
    } else if (topic.endsWith('/ota/fetch')) {
      this.serve(gateway, body as unknown as ChunkRequest);
    }
  }

  private serve(gateway: string, req: ChunkRequest): void {
    if (req.modelId !== this.offer.modelId) return; // another publisher's version
    const bytes = this.files.get(req.file);
    const bad = !bytes ? `no file ${req.file} in ${this.offer.name} ${this.offer.version}`
      : !(Number.isInteger(req.offset) && Number.isInteger(req.length) && req.offset >= 0 && req.length > 0 && req.length <= this.offer.chunkSize && req.offset < bytes.length)
        ? `bad range ${req.offset}+${req.length}` : null;
    const header = { modelId: req.modelId, file: String(req.file), offset: Number(req.offset) || 0 };
    const data = bad ? undefined : bytes!.subarray(req.offset, req.offset + req.length);
    const frame = encodeChunk(bad ? { ...header, error: bad } : header, data);
    // One at a time, paced: the cap holds however many gateways ask at once.
    this.queue = this.queue.then(async () => {
      if (!this.client) return;
      await this.client.publishAsync(topics.otaChunk(gateway), frame, { qos: 1 }).catch(() => undefined);
      this.servedBytes += data?.length ?? 0;
      const cap = this.opts.maxBytesPerSec ?? 0;
      if (cap > 0 && data) await new Promise((r) => setTimeout(r, (1000 * data.length) / cap));
    });
  }

  /** Resolves when every named gateway reported one of `states` (or rejects after timeoutMs). */
  waitFor(gateways: string[], states = ['committed', 'current'], timeoutMs = 120_000): Promise<UpdateReport[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = gateways.map((g) => this.reports.get(g)).filter((r): r is UpdateReport => !!r && states.includes(r.state));
        if (got.length === gateways.length) { this.off('report', check); clearTimeout(timer); resolve(got); }
      };
      const timer = setTimeout(() => {
        this.off('report', check);
        reject(new Error(`timed out: ${gateways.map((g) => `${g}: ${this.reports.get(g)?.state ?? 'no report'}`).join(', ')}`));
      }, timeoutMs);
      this.on('report', check);
      check();
    });
  }

  /** Clears the retained offers, so gateways that come up later are not offered this bundle. */
  async withdraw(): Promise<void> {
    for (const t of this.offerTopics()) await this.client?.publishAsync(t, '', { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.queue;
    const c = this.client;
    this.client = null;
    await new Promise<void>((resolve) => (c ? c.end(false, {}, () => resolve()) : resolve()));
  }
}
