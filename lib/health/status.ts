// Health of one runtime on the control plane: a retained status (what runs, how long,
// how deep the outbox is, what went wrong, CPU and memory), looked at on an interval and
// republished when what it says changed (bundle, update, errors, an outbox backlog of 100,
// 1000, ... frames), on a slow heartbeat, and on every reconnect; a pong for every ping (fresh
// figures on demand), and on the cloud the fleet as a list. A metered link pays ~400 B per
// status; every 10 s that was more than the frames of a 1 frame/s gateway.
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { topics } from '../link/topics';
import type { ControlChannel } from '../ota/agent';

export interface RuntimeStatus {
  gateway: string;
  role: string;
  software: { name: string; version: string; node: string };
  bundle: { name: string; version: string; modelId: string } | null;
  versions: string[];
  update: unknown;
  uptimeS: number;
  outbox: { pending: number; dropped: number; durable: boolean } | null;
  errors: Record<string, number>;
  cpu: { processPct: number; load1: number; cores: number };
  memory: { rssMB: number; heapMB: number; systemFreeMB: number; systemTotalMB: number };
  at: number;
}

export type StatusParts = Omit<RuntimeStatus, 'gateway' | 'uptimeS' | 'cpu' | 'memory' | 'at' | 'software'>;

const MB = 1024 * 1024;
/** A status nobody changed is republished this often anyway (ms), so a stale retained one shows its age. */
export const DEFAULT_HEARTBEAT_MS = 600_000;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SOFTWARE = { name: 'node-red-contrib-split-dnn', version: String(require('../../../package.json').version ?? '?'), node: process.version };

/** CPU used by this process since the last call, as % of one core. */
class CpuMeter {
  private last = process.cpuUsage();
  private at = process.hrtime.bigint();
  sample(): number {
    const now = process.hrtime.bigint();
    const used = process.cpuUsage(this.last);
    const wallUs = Number(now - this.at) / 1000;
    this.last = process.cpuUsage();
    this.at = now;
    return wallUs > 0 ? round((100 * (used.user + used.system)) / wallUs) : 0;
  }
}

export class StatusReporter {
  private readonly timer: NodeJS.Timeout;
  private readonly cpu = new CpuMeter();
  private readonly detach: (() => void)[] = [];
  published = 0;
  private lastSaid = '';
  private lastAt = 0;

  constructor(private readonly channel: ControlChannel, private readonly collect: () => StatusParts, intervalMs = 10_000, private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS) {
    channel.watch(topics.ping(channel.gateway));
    channel.watch(topics.pingAll);
    const onControl = (topic: string, payload: Buffer) => {
      if (topic === topics.ping(channel.gateway) || topic === topics.pingAll) this.pong(payload);
    };
    const onState = (s: string) => { if (s === 'connected') this.publish(); };
    channel.on('control', onControl);
    channel.on('state', onState);
    this.detach.push(() => channel.off('control', onControl), () => channel.off('state', onState));
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
    if (channel.connected) this.publish();
  }

  status(): RuntimeStatus {
    const mem = process.memoryUsage();
    return {
      gateway: this.channel.gateway, software: SOFTWARE, ...this.collect(), uptimeS: Math.round(process.uptime()),
      cpu: { processPct: this.cpu.sample(), load1: round(os.loadavg()[0], 2), cores: os.availableParallelism() },
      memory: { rssMB: round(mem.rss / MB), heapMB: round(mem.heapUsed / MB), systemFreeMB: round(os.freemem() / MB), systemTotalMB: round(os.totalmem() / MB) },
      at: Date.now(),
    };
  }

  /** On the interval: publish when the status says something new, or the heartbeat is due. */
  private tick(): void {
    if (this.said(this.collect()) !== this.lastSaid || Date.now() - this.lastAt >= this.heartbeatMs) this.publish();
  }

  /** What counts as news: everything but the figures that always move (CPU, memory, uptime, the exact outbox depth). */
  private said(parts: StatusParts): string {
    // Frames waiting for their answer are the normal state of a link; a backlog of 100 or more, and each tenfold, is news.
    const pending = parts.outbox?.pending ?? 0;
    const outbox = parts.outbox ? { ...parts.outbox, pending: pending >= 100 ? Math.floor(Math.log10(pending)) : 0 } : null;
    return JSON.stringify({ ...parts, outbox });
  }

  publish(): void {
    if (!this.channel.connected) return;
    const status = this.status();
    this.lastSaid = this.said(this.collect());
    this.lastAt = Date.now();
    this.channel.publishControl(topics.status(this.channel.gateway), JSON.stringify(status), true).then(() => { this.published++; }, () => undefined);
  }

  /** The ping's id comes back with the current status, so the caller can time the round trip. */
  private pong(payload: Buffer): void {
    let id: unknown = null;
    try { id = JSON.parse(payload.toString()).id ?? null; } catch { /* a bare ping */ }
    this.channel.publishControl(topics.pong(this.channel.gateway), JSON.stringify({ id, status: this.status() })).catch(() => undefined);
  }

  close(): void {
    clearInterval(this.timer);
    for (const off of this.detach.splice(0)) off();
  }
}

export interface FleetEntry { gateway: string; live: boolean | null; status: RuntimeStatus | null; lastPongMs: number | null; seenAt: number }

/** The cloud's view: every runtime's retained status, whether it is live, and its last ping time. */
export class FleetView extends EventEmitter {
  readonly entries = new Map<string, FleetEntry>();
  private readonly pings = new Map<string, { sentAt: number; gateway: string | null; resolve: (e: FleetEntry) => void }>();
  private readonly detach: (() => void)[] = [];
  private nextId = 1;

  constructor(private readonly channel: ControlChannel & { gateways?: Map<string, { live: boolean }> }) {
    super();
    channel.watch(topics.allStatus);
    channel.watch(topics.allPongs);
    const onControl = (topic: string, payload: Buffer) => this.onControl(topic, payload);
    const onGateway = (g: { gateway: string; live: boolean }) => { this.touch(g.gateway).live = g.live; this.emit('changed', this.list()); };
    channel.on('control', onControl);
    channel.on('gateway', onGateway);
    // Births the link heard before this view existed (retained, so they came at subscribe).
    for (const [gateway, state] of channel.gateways ?? []) this.touch(gateway).live = state.live;
    this.detach.push(() => channel.off('control', onControl), () => channel.off('gateway', onGateway));
  }

  private touch(gateway: string): FleetEntry {
    let e = this.entries.get(gateway);
    if (!e) { e = { gateway, live: null, status: null, lastPongMs: null, seenAt: Date.now() }; this.entries.set(gateway, e); }
    return e;
  }

  private onControl(topic: string, payload: Buffer): void {
    const gateway = topic.split('/')[1];
    if (topic === topics.status(gateway)) {
      if (!payload.length) { this.entries.delete(gateway); this.emit('changed', this.list()); return; }
      try { this.touch(gateway).status = JSON.parse(payload.toString()); } catch { return; }
      this.touch(gateway).seenAt = Date.now();
      this.emit('changed', this.list());
    } else if (topic === topics.pong(gateway)) {
      let body: { id?: string; status?: RuntimeStatus };
      try { body = JSON.parse(payload.toString()); } catch { return; }
      const e = this.touch(gateway);
      if (body.status) e.status = body.status;
      const ping = body.id ? this.pings.get(body.id) : undefined;
      if (ping && (ping.gateway === null || ping.gateway === gateway)) {
        e.lastPongMs = Date.now() - ping.sentAt;
        if (ping.gateway) this.pings.delete(body.id!);
        ping.resolve(e);
      }
    }
  }

  /** One row per runtime, for a table: name, live, version, uptime, outbox, errors, CPU, memory. */
  list(): Record<string, unknown>[] {
    return [...this.entries.values()].sort((a, b) => a.gateway.localeCompare(b.gateway)).map((e) => ({
      gateway: e.gateway, live: e.live ?? (e.status ? 'status only' : 'unknown'), role: e.status?.role ?? '',
      bundle: e.status?.bundle ? `${e.status.bundle.name} ${e.status.bundle.version} (${e.status.bundle.modelId})` : '',
      uptimeS: e.status?.uptimeS ?? null, outbox: e.status?.outbox?.pending ?? null,
      errors: e.status ? Object.values(e.status.errors).reduce((a, b) => a + b, 0) : null,
      cpuPct: e.status?.cpu.processPct ?? null, rssMB: e.status?.memory.rssMB ?? null, pingMs: e.lastPongMs,
    }));
  }

  /** Pings one runtime (or all, resolving with the first pong); rejects after timeoutMs. */
  ping(gateway: string | null, timeoutMs = 5000): Promise<FleetEntry> {
    const id = `${process.pid}-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pings.delete(id); reject(new Error(`no pong from ${gateway ?? 'any runtime'} in ${timeoutMs} ms`)); }, timeoutMs);
      this.pings.set(id, { sentAt: Date.now(), gateway, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      this.channel.publishControl(gateway ? topics.ping(gateway) : topics.pingAll, JSON.stringify({ id })).catch((err: Error) => {
        clearTimeout(timer);
        this.pings.delete(id);
        reject(err);
      });
    });
  }

  close(): void { for (const off of this.detach.splice(0)) off(); }
}
