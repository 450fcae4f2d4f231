// A link replayed from a trace, to drive a rate policy without a network: frames leave a
// camera at a steady rate, queue FIFO for a serial link of the trace's bandwidth, arrive
// after its one-way delay and are answered after the same delay back. The policy sees
// what mqtt-transmit would report at that moment (backlog and the age of its oldest frame,
// latency from accept to answer of the last 256 answers within 2 s, acknowledged bytes per
// second over 5 s, connected or not).
import { LATENCY_MEMORY_MS, LinkSignal } from './controller';

export interface TraceSegment {
  /** This segment lasts until this time (ms from the start). */
  untilMs: number;
  kbitPerSec: number;
  delayMs: number;
  /** false: the link is gone (nothing moves, the gateway sees it disconnected). */
  up?: boolean;
}

export interface LinkTrace {
  name: string;
  segments: TraceSegment[];
  /** Frames per second the gateway forwards on this trace, instead of SimOptions.fps. */
  fps?: number;
  /** Frames that reach the link together (a gateway that runs its head on batches); default 1. */
  burst?: number;
  /**
   * Frames leave in batches, one message every `batchMs` (the pace of mqtt-transmit's
   * publish window), and answers come back in batches on the same beat. Default: each
   * frame goes as soon as the link is free and is answered alone.
   */
  batchMs?: number;
}

export interface SimFrame { capturedAt: number; level: number; bytes: number; answeredAt: number }

export interface SimOptions {
  trace: LinkTrace;
  /** Frames per second the gateway forwards (unless the trace says). */
  fps: number;
  /** Wire bytes per frame at each level. */
  bytesPerFrame: readonly number[];
  /** The policy: a level for the next frame from what the link reports. */
  choose: (signal: LinkSignal, now: number) => number;
}

const LATENCY_WINDOW = 256;
const THROUGHPUT_SPAN_MS = 5000;

/** The next beat of a batched link at or after `t`; `t` itself when nothing is batched. */
const onBeat = (t: number, batchMs?: number) => (batchMs ? Math.ceil(t / batchMs) * batchMs : t);

function segmentAt(trace: LinkTrace, t: number): TraceSegment {
  return trace.segments.find((s) => t < s.untilMs) ?? trace.segments[trace.segments.length - 1];
}

/** When a transmission of `bytes` that may start at `t` ends, honouring bandwidth changes and outages. */
function transmit(trace: LinkTrace, t: number, bytes: number): number {
  let left = bytes * 8;
  for (;;) {
    const seg = segmentAt(trace, t);
    const last = seg === trace.segments[trace.segments.length - 1];
    const end = last ? Infinity : seg.untilMs;
    if (seg.up === false) {
      if (last) return Infinity;
      t = end;
      continue;
    }
    const bitsPerMs = seg.kbitPerSec;
    if (t + left / bitsPerMs <= end) return t + left / bitsPerMs;
    left -= (end - t) * bitsPerMs;
    t = end;
  }
}

export function durationOf(trace: LinkTrace): number {
  return trace.segments[trace.segments.length - 1].untilMs;
}

/** Replays the trace; every frame is answered eventually (the trace must end with the link up). */
export function simulateLink(o: SimOptions): SimFrame[] {
  const frames: SimFrame[] = [];
  const { burst = 1, batchMs } = o.trace;
  const interval = 1000 / (o.trace.fps ?? o.fps);
  let linkFreeAt = 0;
  let answeredUpTo = 0; // frames[0..answeredUpTo) are answered by `now` (answers come back in order)
  for (let i = 0; ; i++) {
    const now = Math.floor(i / burst) * burst * interval;
    if (now >= durationOf(o.trace)) break;
    while (answeredUpTo < frames.length && frames[answeredUpTo].answeredAt <= now) answeredUpTo++;
    const recent = frames.slice(Math.max(0, answeredUpTo - LATENCY_WINDOW), answeredUpTo)
      .filter((f) => f.answeredAt >= now - LATENCY_MEMORY_MS).map((f) => f.answeredAt - f.capturedAt).sort((a, b) => a - b);
    let acked = 0;
    for (let j = answeredUpTo - 1; j >= 0 && frames[j].answeredAt > now - THROUGHPUT_SPAN_MS; j--) acked += frames[j].bytes;
    const seg = segmentAt(o.trace, now);
    const signal: LinkSignal = {
      pending: frames.length - answeredUpTo,
      oldestPendingMs: answeredUpTo < frames.length ? now - frames[answeredUpTo].capturedAt : null,
      latencyMsP95: recent.length ? recent[Math.min(recent.length - 1, Math.floor(0.95 * recent.length))] : null,
      latencyMsP50: recent.length ? recent[Math.floor(0.5 * recent.length)] : null,
      ackedBytesPerSec: (acked * 1000) / THROUGHPUT_SPAN_MS,
      connected: seg.up !== false,
    };
    const level = o.choose(signal, now);
    const bytes = o.bytesPerFrame[level];
    const publishedAt = onBeat(now, batchMs);
    const sentAt = transmit(o.trace, Math.max(publishedAt, linkFreeAt), bytes);
    linkFreeAt = sentAt;
    const delay = segmentAt(o.trace, sentAt).delayMs;
    // FIFO: an answer never overtakes the one before it, even when the delay shrinks.
    const answeredAt = onBeat(Math.max(sentAt + 2 * delay, frames.length ? frames[frames.length - 1].answeredAt : 0), batchMs);
    frames.push({ capturedAt: now, level, bytes, answeredAt });
  }
  return frames;
}

export interface SimSummary { frames: number; meanLevel: number; p50Ms: number; p95Ms: number; maxMs: number }

/** Latency and level of the frames captured in [fromMs, toMs). */
export function summarize(frames: SimFrame[], fromMs = 0, toMs = Infinity): SimSummary {
  const part = frames.filter((f) => f.capturedAt >= fromMs && f.capturedAt < toMs);
  const lat = part.map((f) => f.answeredAt - f.capturedAt).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    frames: part.length,
    meanLevel: part.reduce((n, f) => n + f.level, 0) / Math.max(1, part.length),
    p50Ms: q(0.5), p95Ms: q(0.95), maxMs: lat[lat.length - 1],
  };
}
