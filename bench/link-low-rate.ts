/**
 * `npm run bench -- link --scenario low-rate --json [--kbits 256,20] [--fps 10] [--seconds 60]
 *   [--delay-ms 50] [--variants c0,c1000,c3000,c5000,c5000-r0,jpeg,png,webp]`
 * What a camera-rate gateway costs on a metered link: the shipped edge flow (10 frames/s,
 * the bundle's default exit threshold forwards ~10%) and the shipped cloud flow, in two
 * network namespaces on a shaped veth pair (bench/shaped-link.ts), mosquitto on the cloud
 * side. Bytes are counted at the IP level on both veth ends (TCP/IP headers, TCP ACKs,
 * PUBACKs, births, health, keepalive: everything), after the warm-up, and given per
 * forwarded frame (answered by the cloud) and per classified frame (every answer). Variants:
 * `cN` the split pipeline with a coalescing budget of N ms at rate auto, `cN-rK` at fixed
 * rate K; `idle-kN` the camera off with keepalive N s (what an idle link costs per minute); `jpeg`, `png`, `webp` offload every frame as an image to a cloud running the whole
 * model (bench/offload.ts), measured the same way.
 */
import { loadBundle } from '../lib/model';
import { BUNDLE, tempDir } from '../test/support/paths';
import { freePort } from '../test/support/mosquitto';
import { createShapedLink } from './shaped-link';
import { CloudSide } from './cloud-side';
import { summarizeSeconds } from './link-results';
import { Gateway, Run, startOffloadEdge, startPipelineEdge } from './link';
import { flag } from './flags';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** ORT warm-up, the first (v1) frames before the tail's first v2 answer, the birth and first status. */
const WARMUP_MS = 8000;
const OFFLOAD = new Set(['jpeg', 'png', 'webp']);

async function measure(run: Run, variant: string, start: () => Promise<Gateway>) {
  run.link.setRate(run.kbit);
  await sleep(1000);
  const gw = await start();
  const from = gw.startedAt + WARMUP_MS;
  const end = gw.startedAt + run.seconds * 1000;
  await sleep(from - Date.now());
  const b0 = run.link.ipBytes();
  await sleep(end - Date.now());
  const b1 = run.link.ipBytes();
  await sleep(1500);
  await gw.stop();
  const s = summarizeSeconds(gw.collector.seconds, from, end);
  const up = b1.edgeTx - b0.edgeTx;
  const down = b1.cloudTx - b0.cloudTx;
  const forwarded = s.bySource.cloud ?? 0;
  const per = (bytes: number, n: number) => (n ? Math.round((bytes / n) * 10) / 10 : null);
  return {
    variant, kbitPerSec: run.kbit, seconds: (end - from) / 1000,
    answers: s.answers, forwarded, forwardedPct: s.answers ? Math.round((1000 * forwarded) / s.answers) / 10 : null,
    ipBytes: { up, down, packetsUp: b1.edgePackets - b0.edgePackets, packetsDown: b1.cloudPackets - b0.cloudPackets },
    perForwarded: { both: per(up + down, forwarded), up: per(up, forwarded), down: per(down, forwarded) },
    perClassified: { both: per(up + down, s.answers), up: per(up, s.answers), down: per(down, s.answers) },
    // What the budget costs: capture → answer of the frames the cloud answered.
    perMinute: { up: Math.round((60 * up) / ((end - from) / 1000)), down: Math.round((60 * down) / ((end - from) / 1000)) },
    cloudP50Ms: s.cloudP50Ms, cloudP95Ms: s.cloudP95Ms, accuracy: s.accuracy,
  };
}

function pipelineSettings(variant: string): { coalesce: string; rate: string; keepalive?: string } | null {
  const m = /^c(\d+)(?:-r(\d+))?$/.exec(variant);
  if (m) return { coalesce: m[1], rate: m[2] ?? 'auto' };
  const idle = /^idle-k(\d+)$/.exec(variant); // camera off: what an idle link costs (keepalive, health)
  return idle ? { coalesce: '1000', rate: 'auto', keepalive: idle[1] } : null;
}

export async function run(args: string[]): Promise<unknown> {
  const seconds = Number(flag(args, 'seconds') ?? 60);
  const fps = Number(flag(args, 'fps') ?? 10);
  const kbits = (flag(args, 'kbits') ?? '256,20').split(',').map(Number);
  const delayMs = Number(flag(args, 'delay-ms') ?? 50);
  const variants = (flag(args, 'variants') ?? 'c0,c1000,c3000,c5000,c5000-r0,jpeg,png,webp').split(',');
  for (const v of variants) if (!OFFLOAD.has(v) && !pipelineSettings(v)) throw new Error(`unknown variant ${v} (cN, cN-rK, idle-kN, jpeg, png, webp)`);
  const manifest = (await loadBundle(BUNDLE)).manifest;
  const dir = tempDir('bench-low-rate');
  const brokerPort = await freePort();
  const link = await createShapedLink({ kbitPerSec: kbits[0], delayMs }, dir, brokerPort);
  const side = new CloudSide(link, dir, brokerPort);
  try {
    await side.startBroker();
    const results = [];
    for (const kbit of kbits) {
      const runSpec: Run = { seconds, fps, kbit, thenKbit: kbit, link, dir };
      for (const variant of variants) {
        const name = `gw-${variant}-${kbit}`;
        const split = pipelineSettings(variant);
        if (!split) {
          await side.offload();
          results.push(await measure(runSpec, `${variant} offload`, () => startOffloadEdge(runSpec, variant, name, link.brokerUrl)));
        } else {
          await side.pipeline();
          const label = split.keepalive ? `idle, keepalive ${split.keepalive} s` : `split, coalesce ${split.coalesce} ms, rate ${split.rate}`;
          const link = { coalesce: split.coalesce, ...(split.keepalive ? { keepalive: split.keepalive } : {}) };
          results.push(await measure(runSpec, label, () => startPipelineEdge(runSpec, split.rate, name, link, !split.keepalive)));
        }
        console.error(`low-rate bench: ${JSON.stringify(results[results.length - 1])}`);
      }
    }
    return {
      bench: 'link', scenario: 'low-rate', bundle: `${manifest.name} ${manifest.version}`, cameraFps: fps, secondsPerVariant: seconds, warmupMs: WARMUP_MS,
      link: { kbitPerSec: kbits, delayMsEachWay: delayMs, counted: 'IP bytes on both veth ends (Ethernet header taken off), every packet' },
      goals: { perForwardedBoth: '<= 120 B at 10 fps', perClassified: '<= 15 B' },
      results,
    };
  } finally {
    await side.close();
  }
}
