// `npm run bench -- edge`: the shipped edge flow as `split-dnn start --role edge` in its own
// process, inside a cgroup of 1 CPU and 256 MB, against a broker in another process and a
// cloud role in a third (outside the cgroup, answering forwarded frames). Cases: the camera
// at 10 and 30 frames/s, and open-loop at 4,000 frames/s (split-head's backpressure output
// unwired, so the queue sheds); each with the default and the small profile. Reports RSS
// (steady: median of the measured window; peak), CPU per frame, frames/s classified,
// p50/p99 capture→answer (from /metrics' histogram, interpolated in its buckets), frames
// shed and OOM kills; and the host's load, since other work shares the CPUs.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeCgroup } from './edge-cgroup';
import { SMALL_NODE_FLAGS } from '../bin/cmd-install-service';
import { flag } from './flags';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'split-dnn.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts a process and resolves once a line of its output matches. */
function started(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const seen = (d: Buffer) => { out += d; if (ready.test(out)) resolve(child); };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${path.basename(args[1] ?? cmd)} exited (${code}): ${out.slice(-800)}`)));
    setTimeout(() => reject(new Error(`not ready in 90 s: ${out.slice(-800)}`)), 90_000).unref();
  });
}

type Samples = Map<string, number>;

/** Prometheus text → series (name{labels}) → value. */
async function scrape(port: number): Promise<Samples> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

const total = (m: Samples, name: string) => [...m].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((n, [, v]) => n + v, 0);

/**
 * Quantile of split_dnn_latency_seconds between two scrapes, interpolated in the bucket (ms):
 * all sources together, or only the answers of one (edge exits, cloud answers).
 */
function latencyMs(a: Samples, b: Samples, q: number, source?: 'edge' | 'cloud'): number | null {
  const buckets = new Map<number, number>();
  for (const [k, v] of b) {
    const le = /^split_dnn_latency_seconds_bucket\{.*le="([^"]+)"/.exec(k)?.[1];
    if (!le || (source && !k.includes(`source="${source}"`))) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + v - (a.get(k) ?? 0));
  }
  const sorted = [...buckets].sort(([x], [y]) => x - y);
  const n = sorted.at(-1)?.[1] ?? 0;
  if (!n) return null;
  let lo = 0;
  let below = 0;
  for (const [bound, count] of sorted) {
    if (count >= q * n) {
      if (bound === Infinity) return lo * 1000;
      return 1000 * (lo + ((bound - lo) * (q * n - below)) / Math.max(1, count - below));
    }
    lo = bound;
    below = count;
  }
  return null;
}

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
/** User + system CPU seconds of the process, all its threads. */
const cpuSeconds = (pid: number) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const mb = (b: number | null) => (b === null ? null : Math.round(b / 2 ** 20));

interface Case { profile: 'default' | 'small'; fps: number; openLoop: boolean; workers?: number; emptyFlow?: boolean; nodeFlags?: string[]; coalesceMs?: string }

async function runCase(c: Case, brokerUrl: string, seconds: number, warmup: number) {
  const group = makeCgroup(`split-dnn-bench-${process.pid}-${c.profile}-${c.fps}`, 1, 256 * 2 ** 20);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bench-'));
  const flowFile = path.join(userDir, 'seed.json');
  const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'edge.json'), 'utf8')) as { type: string; wires?: string[][] }[];
  if (c.openLoop) for (const n of flow) if (n.type === 'split-head') n.wires = [n.wires![0], []];
  if (c.workers) for (const n of flow as { type: string; workers?: string }[]) if (n.type === 'split-model') n.workers = String(c.workers);
  // The empty flow: what Node-RED and this package's registered nodes cost before any model loads.
  fs.writeFileSync(flowFile, JSON.stringify(c.emptyFlow ? [{ id: 't', type: 'tab', label: 'empty' }] : flow));
  const port = await freePort();
  const start = ['start', '--role', 'edge', '--port', String(port), '--broker', brokerUrl, '--mqtt-version', '4', '--gateway', 'bench-edge',
    '--user-dir', userDir, '--flows', flowFile, '--reset-flows', '--fps', String(c.fps), '--profile', c.profile, ...(c.coalesceMs === undefined ? [] : ['--coalesce', c.coalesceMs])];
  // The small profile runs with the node flags install-service gives it.
  const flags = c.nodeFlags ?? (c.profile === 'small' ? SMALL_NODE_FLAGS : []);
  const shell = `${group.enter} && exec ${process.execPath} ${flags.join(' ')} ${CLI} ${start.join(' ')}`;
  const edge = await started('sh', ['-c', shell], /edge runtime/, { ...process.env, MALLOC_ARENA_MAX: '2' });
  try {
    const pid = edge.pid!;
    await sleep(warmup * 1000);
    if (c.emptyFlow) {
      const rss: number[] = [];
      for (let i = 0; i < 8; i++) { rss.push(rssBytes(pid)); await sleep(250); }
      return { case: 'empty flow (Node-RED + this package, no model)', profile: c.profile, rssSteadyMB: mb(median(rss)), cgroupPeakMB: mb(group.peakBytes()), oomKills: group.oomKills() };
    }
    const a = await scrape(port);
    const cpuA = cpuSeconds(pid);
    const t0 = Date.now();
    const rss: number[] = [];
    while (Date.now() - t0 < seconds * 1000) { rss.push(rssBytes(pid)); await sleep(250); }
    const b = await scrape(port);
    const span = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpuA;
    const answered = total(b, 'split_dnn_results_total') - total(a, 'split_dnn_results_total');
    const decided = total(b, 'split_dnn_frames_total') - total(a, 'split_dnn_frames_total');
    return {
      profile: c.profile, workers: c.workers ?? 'auto', coalesceMs: c.coalesceMs ?? 'default', targetFps: c.fps, openLoop: c.openLoop, cgroup: group.kind,
      rssSteadyMB: mb(median(rss)), rssPeakMB: mb(Math.max(...rss)), cgroupPeakMB: mb(group.peakBytes()),
      cpuPct: Math.round((100 * cpu) / span), cpuMsPerFrame: decided ? Math.round((1e5 * cpu) / decided) / 100 : null,
      decidedFps: Math.round(decided / span), classifiedFps: Math.round(answered / span),
      p50Ms: latencyMs(a, b, 0.5), p99Ms: latencyMs(a, b, 0.99),
      // The cloud's answers wait for split-link's coalescing budget (1 s by default) on top.
      edgeP99Ms: latencyMs(a, b, 0.99, 'edge'), cloudP50Ms: latencyMs(a, b, 0.5, 'cloud'), cloudP99Ms: latencyMs(a, b, 0.99, 'cloud'),
      shed: total(b, 'split_dnn_shed_frames_total'), shedInWindow: total(b, 'split_dnn_shed_frames_total') - total(a, 'split_dnn_shed_frames_total'),
      outboxDropped: total(b, 'split_dnn_outbox_dropped_frames_total'),
      heapMB: mb(total(b, 'nodejs_heap_size_used_bytes')), externalMB: mb(total(b, 'nodejs_external_memory_bytes')),
      oomKills: group.oomKills(),
    };
  } finally {
    edge.kill('SIGTERM');
    await new Promise((r) => { edge.once('exit', r); setTimeout(r, 25_000).unref(); });
    group.remove();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<unknown> {
  const seconds = Number(flag(args, 'seconds') ?? 20);
  const warmup = Number(flag(args, 'warmup') ?? 8);
  const profiles = (flag(args, 'profiles') ?? 'default,small').split(',') as Case['profile'][];
  const rates = (flag(args, 'rates') ?? '10,30,4000').split(',').map(Number);
  const load = () => os.loadavg()[0];
  const before = { load1: load(), cpus: os.cpus().length };
  const brokerPort = await freePort();
  const broker = await started(process.execPath, ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'broker', 'embedded.js'))}).startEmbeddedBroker(${brokerPort}).then((b) => console.log('broker ' + b.url))`], /broker mqtt/);
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  const cloudDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bench-cloud-'));
  const cloud = await started(process.execPath, [CLI, 'start', '--role', 'cloud', '--port', '0', '--broker', brokerUrl, '--mqtt-version', '4', '--user-dir', cloudDir, '--reset-flows'], /cloud runtime/);
  const cases: unknown[] = [];
  try {
    if (!flag(args, 'rates')) {
      cases.push(await runCase({ profile: 'default', fps: 1, openLoop: false, emptyFlow: true }, brokerUrl, seconds, warmup));
      cases.push(await runCase({ profile: 'default', fps: 30, openLoop: false, workers: 2 }, brokerUrl, seconds, warmup));
    }
    // --node-flags a,b: V8 flags to try in place of the profile's own (SMALL_NODE_FLAGS for small).
    const nodeFlags = flag(args, 'node-flags')?.split(',').filter(Boolean);
    // --coalesce MS: split-link's budget (split-dnn start --coalesce); 0 for the lowest latency.
    const coalesceMs = flag(args, 'coalesce');
    for (const fps of rates) for (const profile of profiles) cases.push({ ...(await runCase({ profile, fps, openLoop: fps > 1000, nodeFlags, coalesceMs }, brokerUrl, seconds, warmup)), ...(nodeFlags ? { nodeFlags } : {}) });
  } finally {
    cloud.kill('SIGTERM');
    broker.kill('SIGTERM');
    fs.rmSync(cloudDir, { recursive: true, force: true });
  }
  return {
    bench: 'edge', cgroup: { cpus: 1, memoryMB: 256 }, seconds, warmup,
    host: { cpus: before.cpus, load1Before: before.load1, load1After: load(), note: 'other work shares the host CPUs: compare cases within this run' },
    cases,
  };
}
