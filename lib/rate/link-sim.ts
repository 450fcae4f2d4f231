// A link replayed from a trace, to drive a rate policy without a network: frames leave a
// camera at a steady rate, queue FIFO for a serial link of the trace's bandwidth, arrive
// after its one-way delay and are answered after the same delay back. The policy sees
// what mqtt-transmit would report at that moment (backlog, round-trip p95 of the last
// 256 answers, acknowledged bytes per second over 5 s, connected or not).
import type { LinkSignal } from './controller';

export interface TraceSegment {
  /** This segment lasts until this time (ms from the start). */
  untilMs: number;
  kbitPerSec: number;
  delayMs: number;
  /** false: the link is gone (nothing moves, the gateway sees it disconnected). */
  up?: boolean;
}

export interface LinkTrace { name: string; segments: TraceSegment[] }

export interface SimFrame { capturedAt: number; level: number; bytes: number; answeredAt: number }

export interface SimOptions {
  trace: LinkTrace;
  /** Frames per second the gateway forwards. */
  fps: number;
  /** Wire bytes per frame at each level. */
  bytesPerFrame: readonly number[];
  /** The policy: a level for the next frame from what the link reports. */
  choose: (signal: LinkSignal, now: number) => number;
}

const RTT_WINDOW = 256;
const THROUGHPUT_SPAN_MS = 5000;

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
  const interval = 1000 / o.fps;
  let linkFreeAt = 0;
  let answeredUpTo = 0; // frames[0..answeredUpTo) are answered by `now` (answers come back in order)
  for (let now = 0; now < durationOf(o.trace); now += interval) {
    while (answeredUpTo < frames.length && frames[answeredUpTo].answeredAt <= now) answeredUpTo++;
    const recent = frames.slice(Math.max(0, answeredUpTo - RTT_WINDOW), answeredUpTo).map((f) => f.answeredAt - f.capturedAt).sort((a, b) => a - b);
    let acked = 0;
    for (let i = answeredUpTo - 1; i >= 0 && frames[i].answeredAt > now - THROUGHPUT_SPAN_MS; i--) acked += frames[i].bytes;
    const seg = segmentAt(o.trace, now);
    const signal: LinkSignal = {
      pending: frames.length - answeredUpTo,
      rttMsP95: recent.length ? recent[Math.min(recent.length - 1, Math.floor(0.95 * recent.length))] : null,
      rttMsP50: recent.length ? recent[Math.floor(0.5 * recent.length)] : null,
      ackedBytesPerSec: (acked * 1000) / THROUGHPUT_SPAN_MS,
      connected: seg.up !== false,
    };
    const level = o.choose(signal, now);
    const bytes = o.bytesPerFrame[level];
    const sentAt = transmit(o.trace, Math.max(now, linkFreeAt), bytes);
    linkFreeAt = sentAt;
    const delay = segmentAt(o.trace, sentAt).delayMs;
    // FIFO: an answer never overtakes the one before it, even when the delay shrinks.
    const answeredAt = Math.max(sentAt + 2 * delay, frames.length ? frames[frames.length - 1].answeredAt : 0);
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
