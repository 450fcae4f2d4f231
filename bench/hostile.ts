/**
 * What hostile input costs a receiver: the cloud's sequence tracking per frame with
 * sequential seqs (the normal case) and with seqs anywhere in u32 (what a peer can send),
 * the sweep that judges the skips, and the link fuzz (bench/fuzz-link.ts) at full size,
 * with the event-loop lag it caused. `npm run bench -- hostile [--frames N] [--messages N]`.
 */
import { performance } from 'node:perf_hooks';
import { GapWatch, SequenceTracker } from '../lib/link/sequence';
import { runLinkFuzz } from './fuzz-link';
import { prng } from './fuzz';

function arg(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

function seqCost(frames: number, seqOf: (i: number) => number, streams: number) {
  const gaps = new GapWatch(0);
  const dups = new SequenceTracker();
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const gw = `gw-${i % streams}`;
    gaps.see(gw, 1, seqOf(i), 0);
    dups.see(gw, 1, seqOf(i));
  }
  const t1 = performance.now();
  const { gaps: reported } = gaps.sweep(1);
  const t2 = performance.now();
  return { usPerFrame: Number((((t1 - t0) * 1000) / frames).toFixed(2)), sweepMs: Number((t2 - t1).toFixed(1)), gapRuns: reported.length, resets: gaps.resetCount };
}

export async function run(args: string[]) {
  const frames = arg(args, '--frames', 200_000);
  const rnd = prng(7);
  const random = Array.from({ length: frames }, () => (rnd() * 2 ** 32) >>> 0);
  const sequence = {
    sequential: seqCost(frames, (i) => i, 1),
    sequentialEvery10thLost: seqCost(frames, (i) => i + Math.floor(i / 9), 1),
    randomU32OneStream: seqCost(frames, (i) => random[i], 1),
    randomU32ThousandStreams: seqCost(frames, (i) => random[i], 1000),
  };
  const fuzz = await runLinkFuzz({ messages: arg(args, '--messages', 20_000), seed: arg(args, '--seed', 1) });
  return { ok: fuzz.ok, frames, sequence, linkFuzz: fuzz };
}
