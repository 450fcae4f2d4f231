// The fault scenarios of the delivery tests, sized by the caller: the tests run them small,
// `npm run bench -- faults` full size. Each counts results at the gateway's mqtt-transmit
// output per (gateway, boot, seq) against the frames that had to be answered.
import { readOutbox } from '../../lib/link/outbox';
import { startMosquitto, Mosquitto } from './mosquitto';
import { startProxy } from './proxy';
import { startEdge, startCloud, outboxDir, ResultLog, tally, streamKeys, Tally } from './fleet';
import type { Runtime } from './runtime';
import { tempDir } from './paths';

export interface Fleet {
  broker: Mosquitto;
  dir: string;
  tails: Runtime[];
  /** Start tail i again (after a kill). */
  restartTail(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** mosquitto and `count` tails in the shared group. */
export async function startFleet(count = 2): Promise<Fleet> {
  const broker = await startMosquitto();
  const dir = tempDir('fleet');
  const tails = await Promise.all(Array.from({ length: count }, (_, i) => startCloud(broker.url, dir, `tail-${i}`)))
    .catch(async (err) => { await broker.stop(); throw err; });
  return {
    broker, dir, tails,
    restartTail: async (i) => { await tails[i].stop('SIGKILL'); tails[i] = await startCloud(broker.url, dir, `tail-${i}`); },
    stop: async () => {
      await Promise.all(tails.map((t) => t.stop('SIGKILL')));
      await broker.stop();
    },
  };
}

export interface FaultReport extends Tally { scenario: string; frames: number; seconds: number; [detail: string]: unknown }

export interface StreamOptions {
  frames: number;
  fps?: number;
  /** The gateway's resend timeout (s). After a broker restart it also covers frames sent before any tail resubscribed. */
  resendAfter?: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Enough time for `frames` at the slowest rate this machine has shown, plus recovery. */
const budget = (frames: number) => 60_000 + frames * 20;

/** Late duplicates, if any, would show within this. */
const SETTLE_MS = 1500;

/**
 * A gateway streams `frames` at `fps`; once a third are answered `fault` strikes (and
 * heals), returning what it saw. Then every frame must get exactly one result at the edge.
 */
async function streamThrough(fleet: Fleet, scenario: string, gateway: string, o: StreamOptions & { keepalive?: number; broker?: string },
  fault: (edge: Runtime) => Promise<Record<string, unknown>>): Promise<FaultReport> {
  const started = Date.now();
  const edge = await startEdge(fleet.broker.url, fleet.dir, { gateway, fps: o.fps ?? 100, limit: o.frames, resendAfter: o.resendAfter, keepalive: o.keepalive, broker: o.broker });
  const results = new ResultLog(gateway, edge);
  const inferred = fleet.tails.map((t) => new ResultLog(gateway, t));
  try {
    await results.wait(Math.ceil(o.frames / 3), budget(o.frames));
    const details = await fault(edge);
    await results.wait(o.frames, budget(o.frames));
    await sleep(SETTLE_MS);
    const gaps = fleet.tails.map((t) => (t.output().match(new RegExp(`gateway ${gateway} \\(boot \\d+\\): \\d+ frame\\(s\\) missing`, 'g')) ?? []).length);
    return {
      scenario, frames: o.frames, ...tally(results.counts, streamKeys(results.counts, gateway, o.frames)), seconds: (Date.now() - started) / 1000,
      // Inferences per tail (a frame resent to another tail may be inferred twice; the gateway still emits one result).
      inferredPerTail: inferred.map((l) => [...l.counts.values()].reduce((a, b) => a + b, 0)),
      gapReports: gaps.reduce((a, b) => a + b, 0), ...details,
    };
  } finally {
    for (const l of inferred) l.close();
    await edge.stop('SIGKILL');
  }
}

/** No fault: the baseline, and how the broker spreads frames over the group. */
export function steady(fleet: Fleet, o: StreamOptions): Promise<FaultReport> {
  return streamThrough(fleet, 'no fault', 'gw-steady', o, async () => ({}));
}

/** The broker SIGKILLed while frames are in flight both ways; back after `downMs`. */
export function brokerKill(fleet: Fleet, o: StreamOptions & { downMs?: number }): Promise<FaultReport> {
  return streamThrough(fleet, 'broker SIGKILL mid-stream', 'gw-broker-kill', o, async () => {
    await fleet.broker.kill('SIGKILL');
    await sleep(o.downMs ?? 1000);
    await fleet.broker.restart();
    return { downMs: o.downMs ?? 1000 };
  });
}

/** The broker stopped for `downMs` while the camera keeps going. */
export function brokerDown(fleet: Fleet, o: StreamOptions & { downMs?: number }): Promise<FaultReport> {
  return streamThrough(fleet, 'broker stopped for a while', 'gw-broker-down', o, async () => {
    await fleet.broker.stop();
    await sleep(o.downMs ?? 3000);
    await fleet.broker.restart();
    return { downMs: o.downMs ?? 3000 };
  });
}

/**
 * The gateway's path to the broker goes silent for `downMs` (no reset, no FIN): only the
 * keepalive can tell. The tails keep their own path.
 */
export async function linkBlackhole(fleet: Fleet, o: StreamOptions & { downMs?: number; keepalive?: number }): Promise<FaultReport> {
  const proxy = await startProxy(fleet.broker.port);
  const gateway = 'gw-blackhole';
  try {
    return await streamThrough(fleet, 'link silent for a while', gateway, { ...o, broker: proxy.url, keepalive: o.keepalive ?? 1 }, async (edge) => {
      proxy.blackhole();
      await sleep(o.downMs ?? 5000);
      proxy.heal();
      return {
        downMs: o.downMs ?? 5000,
        edgeNoticed: /link disconnected/.test(edge.output()),
        cloudSawWill: fleet.tails.some((t) => t.output().includes(`gateway ${gateway} is gone`)),
      };
    });
  } finally {
    await proxy.close();
  }
}

/** One tail of the shared group SIGKILLed mid-stream; the gateway's resend timeout recovers what it held. */
export async function tailKill(fleet: Fleet, o: StreamOptions): Promise<FaultReport> {
  const victim = fleet.tails.length - 1;
  try {
    return await streamThrough(fleet, 'tail SIGKILL mid-stream', 'gw-tail-kill', { ...o, resendAfter: o.resendAfter ?? 2 }, async () => {
      await fleet.tails[victim].stop('SIGKILL');
      return { tails: fleet.tails.length, resendAfterS: o.resendAfter ?? 2 };
    });
  } finally {
    await fleet.restartTail(victim);
  }
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * The link is down and `backlog` frames pile up in the gateway's outbox; the gateway is
 * SIGKILLed (or, with signal SIGTERM, stopped as systemd stops it) with the camera still
 * running, the link returns, the gateway restarts (camera off). Every frame its outbox held
 * on disk at the kill must be answered, once.
 */
export async function gatewayKill(fleet: Fleet, o: { backlog: number; fps?: number; signal?: 'SIGKILL' | 'SIGTERM' }): Promise<FaultReport> {
  const signal = o.signal ?? 'SIGKILL';
  const gateway = signal === 'SIGKILL' ? 'gw-crash' : 'gw-stop';
  const started = Date.now();
  let exitCode: number | null = null;
  const outbox = outboxDir(fleet.dir, gateway);
  await fleet.broker.stop();
  try {
    const first = await startEdge(fleet.broker.url, fleet.dir, { gateway, fps: o.fps ?? 500 });
    try {
      await until(() => readOutbox(outbox).frames.size >= o.backlog, budget(o.backlog), `${o.backlog} frames in the outbox`);
    } finally {
      exitCode = await first.stop(signal);
    }
  } finally {
    await fleet.broker.restart();
  }
  // What the crash left on disk is what must be delivered.
  const left = readOutbox(outbox);
  const killedAfter = (Date.now() - started) / 1000;
  const edge = await startEdge(fleet.broker.url, fleet.dir, { gateway, autostart: false });
  const results = new ResultLog(gateway, edge);
  try {
    const resumed = Date.now();
    await results.wait(left.frames.size, budget(left.frames.size));
    const drainSeconds = (Date.now() - resumed) / 1000;
    await sleep(SETTLE_MS);
    return {
      scenario: `gateway ${signal} with a backlog`, frames: left.frames.size, ...tally(results.counts, left.frames.keys()),
      seconds: (Date.now() - started) / 1000, killedAfter, tornBytes: left.tornBytes, drainSeconds, exitCode,
      reportedOnRestart: /outbox: \d+ frames pending from before the restart/.test(edge.output()),
    };
  } finally {
    await edge.stop('SIGKILL');
  }
}
