// `npm run bench -- pipeline --json`: the all-in-one flow (real Node-RED nodes, the
// embedded aedes broker, ORT in worker threads) driven open-loop at several frame rates.
// Reports delivered frames/s, capture→result latency p50/p99, event-loop lag p99 and peak
// RSS of the process (edge and cloud together, so an upper bound for an edge runtime).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NodeMessage } from 'node-red';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady } from '../test/support/red';
import { readFlow, patch, asHelper, withoutDashboard } from '../test/support/flows';
import { BUNDLE, tempDir } from '../test/support/paths';
import { startEmbeddedBroker } from '../lib/broker/embedded';
import { loadBundle } from '../lib/model';
import { flag } from './flags';

interface Step {
  targetFps: number; sent: number; delivered: number; fps: number; p50Ms: number; p99Ms: number;
  edgeP50Ms: number; cloudP50Ms: number; cloudP99Ms: number; loopLagP99Ms: number; cloudShare: number;
}

const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

export async function run(args: string[]): Promise<unknown> {
  const rates = (flag(args, 'rates') ?? '250,500,1000,2000,4000').split(',').map(Number);
  const seconds = Number(flag(args, 'seconds') ?? 5);
  const rate = flag(args, 'rate') ?? 'auto';
  const broker = await startEmbeddedBroker(0);
  Object.assign(process.env, { SPLIT_DNN_BUNDLE: BUNDLE, SPLIT_DNN_BROKER: broker.url, SPLIT_DNN_MQTT_VERSION: '4', SPLIT_DNN_GATEWAY: 'bench', SPLIT_DNN_FPS: '1', SPLIT_DNN_CA_FILE: '' });
  await startRed();
  let flow = withoutDashboard(readFlow('all-in-one.json'));
  flow = patch(flow, 'edge-camera', { autostart: false });
  flow = patch(flow, 'edge-encode', { rate });
  flow = patch(flow, 'cfg-link', { outboxDir: tempDir('bench-outbox'), window: '1024' });
  flow = asHelper(flow, 'edge-results');
  await loadFlow(flow);
  await modelReady('cfg-model');
  const link = await (helper.getNode('cfg-link') as unknown as { edge(): Promise<{ stats(): { state: string } }> }).edge();
  while (link.stats().state !== 'connected') await new Promise((r) => setTimeout(r, 20));
  const results = new Collector('edge-results');
  const camera = helper.getNode('edge-camera');
  // Warm-up: ORT's first runs of each session allocate and optimise; not what we measure.
  camera.receive({ payload: 200 });
  await results.wait(200, 120_000);
  results.messages.length = 0;
  let peakRss = process.memoryUsage().rss;
  const steps: Step[] = [];
  for (const targetFps of rates) {
    const before = results.messages.length;
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((targetFps * tickMs) / 1000));
    const ticks = Math.round((seconds * 1000) / tickMs);
    const started = Date.now();
    for (let t = 0; t < ticks; t++) {
      camera.receive({ payload: perTick });
      const due = started + (t + 1) * tickMs;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      if (t % 20 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const sent = perTick * ticks;
    await results.wait(before + sent, 120_000).catch(() => undefined);
    const elapsed = (Date.now() - started) / 1000;
    lag.disable();
    const batch = results.messages.slice(before);
    const isCloud = (m: NodeMessage) => (m.payload as { source?: string }).source === 'cloud';
    const latencyOf = (m: NodeMessage) => (typeof m.latencyMs === 'number' ? m.latencyMs : Number(m.arrivedAt) - Number(m.capturedAt));
    const latencies = batch.map(latencyOf);
    const cloudLatencies = batch.filter(isCloud).map(latencyOf);
    const edgeLatencies = batch.filter((m) => !isCloud(m)).map(latencyOf);
    const cloud = cloudLatencies.length;
    steps.push({
      targetFps, sent, delivered: batch.length, fps: batch.length / elapsed,
      p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99),
      edgeP50Ms: quantile(edgeLatencies, 0.5), cloudP50Ms: quantile(cloudLatencies, 0.5), cloudP99Ms: quantile(cloudLatencies, 0.99), loopLagP99Ms: lag.percentile(99) / 1e6,
      cloudShare: cloud / Math.max(1, batch.length),
    });
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  await stopRed();
  await broker.close();
  const manifest = (await loadBundle(BUNDLE)).manifest;
  return {
    bench: 'pipeline', bundle: `${manifest.name} ${manifest.version}`, encoderRate: rate, secondsPerStep: seconds,
    machine: { cpus: require('node:os').availableParallelism(), node: process.version },
    steps, peakRssMb: peakRss / 2 ** 20,
    goals: { fps: 2000, p99Ms: 20, loopLagP99Ms: 5, peakRssMb: 150 },
  };
}
