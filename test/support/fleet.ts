// Gateways and tails as real `split-dnn start` processes on one broker, running the
// shipped flows with a few settings changed, and their results counted from their logs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFlow, patch } from './flows';
import { startRuntime, Runtime } from './runtime';
import { BUNDLE } from './paths';

export interface EdgeOptions {
  gateway: string;
  /** Camera frames per second and how many in all (0: no end); autostart false: camera off. */
  fps?: number;
  limit?: number;
  autostart?: boolean;
  /** split-link settings. */
  resendAfter?: number;
  window?: number;
  keepalive?: number;
  /** Another way to the broker (a proxy) for this gateway only. */
  broker?: string;
  env?: Record<string, string>;
}

const common = (broker: string) => ['--broker', broker, '--mqtt-version', '5', '--bundle', BUNDLE];

/** A gateway: every frame goes to the cloud (threshold 1), each answer's msg.frame printed to the log. */
export async function startEdge(broker: string, dir: string, o: EdgeOptions): Promise<Runtime> {
  const flow = readFlow('edge.json');
  patch(flow, 'edge-results', { active: true, console: true, complete: 'frame' });
  patch(flow, 'edge-gate', { threshold: '1' });
  patch(flow, 'edge-camera', { fps: String(o.fps ?? 100), limit: String(o.limit ?? 0), autostart: o.autostart ?? true });
  patch(flow, 'cfg-link', { resendAfter: String(o.resendAfter ?? 10), window: String(o.window ?? 256), keepalive: String(o.keepalive ?? 30) });
  const userDir = path.join(dir, o.gateway);
  fs.mkdirSync(userDir, { recursive: true });
  const flowFile = path.join(dir, `${o.gateway}.flow.json`);
  fs.writeFileSync(flowFile, JSON.stringify(flow));
  const rt = await startRuntime(['--role', 'edge', '--user-dir', userDir, '--flows', flowFile, '--reset-flows', '--gateway', o.gateway, ...common(o.broker ?? broker)], o.env);
  await rt.waitFor(/Started flows/);
  return rt;
}

/** Where a gateway started by startEdge keeps its outbox. */
export const outboxDir = (dir: string, gateway: string) => path.join(dir, gateway, 'outbox', gateway);

/** A tail in the shared group, each result's msg.result printed to the log. */
export async function startCloud(broker: string, dir: string, name: string, env?: Record<string, string>): Promise<Runtime> {
  const flow = patch(readFlow('cloud.json'), 'cloud-results', { active: true, console: true, complete: 'result' });
  const flowFile = path.join(dir, `${name}.flow.json`);
  fs.writeFileSync(flowFile, JSON.stringify(flow));
  const rt = await startRuntime(['--role', 'cloud', '--user-dir', path.join(dir, name), '--flows', flowFile, '--reset-flows', '--gateway', name, ...common(broker)], env);
  await rt.waitFor(/\[mqtt-transmit:from gateways\] link connected/);
  return rt;
}

// msg.frame on the edge and msg.result on the cloud both print gateway, bootId and seq in a row.
const RESULT = /gateway: '([^']+)',\s+bootId: (\d+),\s+seq: (\d+),/g;

/**
 * Results per frame (gateway/boot/seq) printed by the runtimes attached, counted as their
 * output arrives (the logs grow to megabytes: rescanning them would be quadratic).
 */
export class ResultLog {
  readonly counts = new Map<string, number>();
  private waiters: { test: () => boolean; resolve: () => void }[] = [];
  private readonly detach: (() => void)[] = [];

  constructor(private readonly gateway?: string, ...runtimes: Runtime[]) {
    for (const rt of runtimes) this.attach(rt);
  }

  attach(rt: Runtime): this {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      RESULT.lastIndex = 0;
      let end = -1;
      for (let m = RESULT.exec(buf); m; m = RESULT.exec(buf)) {
        end = RESULT.lastIndex;
        if (this.gateway && m[1] !== this.gateway) continue;
        const key = `${m[1]}/${m[2]}/${m[3]}`;
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
      buf = end >= 0 ? buf.slice(end) : buf.slice(-4000);
      this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
    };
    rt.proc.stdout!.on('data', onData);
    rt.proc.stderr!.on('data', onData);
    this.detach.push(() => { rt.proc.stdout!.off('data', onData); rt.proc.stderr!.off('data', onData); });
    return this;
  }

  /** Stop counting (a long-lived runtime outlives many counts). */
  close(): void {
    for (const off of this.detach.splice(0)) off();
  }

  /** Frames answered at least once. */
  get distinct(): number { return this.counts.size; }

  /** Resolves once `count` distinct frames have results (or rejects after timeoutMs). */
  wait(count: number, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = { test: () => this.counts.size >= count, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out with results for ${this.counts.size} of ${count} frames`));
      }, timeoutMs);
      if (w.test()) w.resolve();
      else this.waiters.push(w);
    });
  }
}

export interface Tally { expected: number; delivered: number; lost: number; duplicates: number; unexpected: number }

/** Compares the results counted with the frames that had to be answered, once each. */
export function tally(counts: Map<string, number>, expected: Iterable<string>): Tally {
  const want = new Set(expected);
  let delivered = 0;
  let duplicates = 0;
  for (const key of want) {
    const n = counts.get(key) ?? 0;
    if (n) delivered++;
    if (n > 1) duplicates += n - 1;
  }
  const unexpected = [...counts.keys()].filter((k) => !want.has(k)).length;
  return { expected: want.size, delivered, lost: want.size - delivered, duplicates, unexpected };
}

/** The keys of seqs 0..n-1 of the one boot that answered for a gateway (camera frames are numbered from 0). */
export function streamKeys(counts: Map<string, number>, gateway: string, n: number): string[] {
  const boots = new Set([...counts.keys()].filter((k) => k.startsWith(`${gateway}/`)).map((k) => k.split('/')[1]));
  if (boots.size !== 1) throw new Error(`expected results from one boot of ${gateway}, got ${boots.size}`);
  const [boot] = boots;
  return Array.from({ length: n }, (_, i) => `${gateway}/${boot}/${i}`);
}
