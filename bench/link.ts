/**
 * `npm run bench -- link --json [--kbit 256] [--then-kbit 64] [--delay-ms 50] [--seconds 30]
 *   [--fps 400] [--variants auto,0,1,...,png,webp]`
 * The shaped-link benchmark: an edge runtime and a cloud runtime (real `split-dnn start`
 * processes running the shipped flows) in two network namespaces joined by a veth pair
 * with a token-bucket rate and a one-way delay, and mosquitto on the cloud side. Half way
 * through each run the link changes (--then-kbit). Variants, one after the other on the
 * same link: this pipeline with rate auto, each fixed rate, and offloading the whole image
 * as PNG and as WebP to a cloud that runs the whole model. Each reports answers per second
 * at the gateway, capture → answer latency p50/p99 and accuracy, per half and overall,
 * plus the bytes the gateway put on the link per answer. Needs root and iproute2.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { loadBundle } from '../lib/model';
import { BUNDLE, DIST, tempDir } from '../test/support/paths';
import { readFlow, patch } from '../test/support/flows';
import { startRuntime } from '../test/support/runtime';
import { freePort } from '../test/support/mosquitto';
import { createShapedLink, ShapedLink, startReady } from './shaped-link';
import { CloudSide } from './cloud-side';
import { RESULT_FUNCTION, ResultCollector, summarizeSeconds } from './link-results';
import { flag } from './flags';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** ORT's first runs allocate and optimise: the first seconds are not what is measured. */
const WARMUP_MS = 5000;

export interface Run { seconds: number; fps: number; kbit: number; thenKbit: number; link: ShapedLink; dir: string }

/** A gateway process whose BENCH lines are collected. */
export interface Gateway { collector: ResultCollector; stop(): Promise<void>; startedAt: number }

function collect(proc: ChildProcess): ResultCollector {
  const c = new ResultCollector();
  proc.stdout!.on('data', (d: Buffer) => c.feed(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => c.feed(d.toString()));
  return c;
}

export async function startPipelineEdge(run: Run, rate: string, name: string, linkSettings: Record<string, string> = {}, camera = true): Promise<Gateway> {
  const flow = readFlow('edge.json');
  patch(flow, 'edge-camera', { fps: String(run.fps), limit: String(Math.ceil(run.fps * (run.seconds + 10))), autostart: camera });
  patch(flow, 'edge-encode', { rate });
  // A slow link holds frames for seconds; a resend would only queue a second copy behind them.
  patch(flow, 'cfg-link', { resendAfter: '600', window: '256', ...linkSettings });
  const results = flow.find((n) => n.id === 'edge-results')!;
  Object.assign(results, { type: 'function', name: 'bench results', func: RESULT_FUNCTION, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], wires: [[]] });
  const userDir = path.join(run.dir, name);
  fs.mkdirSync(userDir, { recursive: true });
  const flowFile = path.join(run.dir, `${name}.flow.json`);
  fs.writeFileSync(flowFile, JSON.stringify(flow));
  const rt = await startRuntime(['--role', 'edge', '--user-dir', userDir, '--flows', flowFile, '--reset-flows', '--gateway', name,
    '--broker', run.link.brokerUrl, '--mqtt-version', '5', '--bundle', BUNDLE], {}, run.link.inNs(run.link.edgeNs));
  const collector = collect(rt.proc);
  await rt.waitFor(/Started flows/);
  return { collector, startedAt: Date.now(), stop: async () => { await rt.stop('SIGKILL'); } };
}

export async function startOffloadEdge(run: Run, codec: string, name: string, brokerUrl: string): Promise<Gateway> {
  const proc = await startReady([...run.link.inNs(run.link.edgeNs), process.execPath, path.join(DIST, 'bench', 'offload.js'), 'edge',
    '--broker', brokerUrl, '--codec', codec, '--fps', String(run.fps), '--frames', String(Math.ceil(run.fps * (run.seconds + 10))),
    '--gateway', name, '--bundle', BUNDLE], /camera at/, `offload ${codec} gateway`);
  const collector = collect(proc);
  return { collector, startedAt: Date.now(), stop: async () => { proc.kill('SIGKILL'); } };
}

/** One variant: the link at --kbit, changed to --then-kbit half way, measured after the warm-up. */
async function measure(run: Run, variant: string, start: () => Promise<Gateway>) {
  run.link.setRate(run.kbit);
  await sleep(1000);
  const gw = await start();
  const t0 = gw.startedAt;
  const half = t0 + WARMUP_MS + ((run.seconds * 1000 - WARMUP_MS) / 2);
  const end = t0 + run.seconds * 1000;
  await sleep(t0 + WARMUP_MS - Date.now());
  const bytes0 = run.link.bytes();
  await sleep(half - Date.now());
  run.link.setRate(run.thenKbit);
  await sleep(end - Date.now());
  const bytes1 = run.link.bytes();
  await sleep(1500); // answers that arrived before `end` are printed with the next second's line
  await gw.stop();
  const s = gw.collector.seconds;
  const all = summarizeSeconds(s, t0 + WARMUP_MS, end);
  return {
    variant,
    ...all,
    // What crossed the link per answer, IP and TCP included: up from the gateway, down to it.
    upBytesPerAnswer: all.answers ? (bytes1.edgeTx - bytes0.edgeTx) / all.answers : null,
    downBytesPerAnswer: all.answers ? (bytes1.cloudTx - bytes0.cloudTx) / all.answers : null,
    first: summarizeSeconds(s, t0 + WARMUP_MS, half),
    second: summarizeSeconds(s, half, end),
  };
}

export async function run(args: string[]): Promise<unknown> {
  if (flag(args, 'scenario') === 'low-rate') return (require('./link-low-rate') as typeof import('./link-low-rate')).run(args);
  const seconds = Number(flag(args, 'seconds') ?? 30);
  const fps = Number(flag(args, 'fps') ?? 400);
  const kbit = Number(flag(args, 'kbit') ?? 256);
  const thenKbit = Number(flag(args, 'then-kbit') ?? 64);
  const delayMs = Number(flag(args, 'delay-ms') ?? 50);
  const manifest = (await loadBundle(BUNDLE)).manifest;
  const levels = manifest.rates.map((r) => String(r.level));
  const variants = (flag(args, 'variants') ?? ['auto', ...levels, 'png', 'webp'].join(',')).split(',');
  const dir = tempDir('bench-link');
  const brokerPort = await freePort();
  const link = await createShapedLink({ kbitPerSec: kbit, delayMs }, dir, brokerPort);
  const side = new CloudSide(link, dir, brokerPort);
  try {
    await side.startBroker();
    const runSpec: Run = { seconds, fps, kbit, thenKbit, link, dir };
    const results = [];
    for (const variant of variants) {
      const name = `gw-${variant}`;
      if (variant === 'png' || variant === 'webp') {
        await side.offload();
        results.push(await measure(runSpec, `${variant} offload`, () => startOffloadEdge(runSpec, variant, name, link.brokerUrl)));
      } else {
        await side.pipeline();
        results.push(await measure(runSpec, variant === 'auto' ? 'split, rate auto' : `split, rate ${variant} (${manifest.rates[Number(variant)].name})`, () => startPipelineEdge(runSpec, variant, name)));
      }
      console.error(`link bench: ${JSON.stringify(results[results.length - 1])}`);
    }
    const png = results.find((r) => r.variant === 'png offload');
    const auto = results.find((r) => r.variant === 'split, rate auto');
    return {
      bench: 'link', bundle: `${manifest.name} ${manifest.version}`,
      link: { kbitPerSec: kbit, thenKbitPerSec: thenKbit, changeAt: 'half way', delayMsEachWay: delayMs, shaping: 'tc tbf on both veth ends; delay from a userspace relay (no netem in this kernel)' },
      cameraFps: fps, secondsPerVariant: seconds, warmupMs: WARMUP_MS,
      results,
      summary: png && auto ? {
        autoOverPngFps: auto.fps / png.fps,
        accuracyLossPP: auto.accuracy !== null && png.accuracy !== null ? (png.accuracy - auto.accuracy) * 100 : null,
        goal: '>= 20x the frames per second of PNG offload at <= 0.5 pp accuracy loss',
      } : null,
    };
  } finally {
    await side.close();
  }
}
