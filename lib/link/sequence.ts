// Sequence numbers per gateway: the edge numbers its frames within a boot, the cloud
// watches the numbers to tell duplicates (drop) from gaps (report).
import { randomInt } from 'node:crypto';
import { Run, RunSet, SeenWindow } from './runs';

/** One random boot id per process: (gateway, boot, seq) never repeats across restarts. */
export const BOOT_ID = randomInt(1, 0xffffffff);

/**
 * The identity of a frame and of the answer to it, end to end. On the cloud the gateway is
 * the one of the topic the frame came on (what the broker's ACL enforces), never the
 * bytes inside the frame: pass it as `gateway`.
 */
export const frameKey = (f: { gatewayId: string; bootId: number; seq: number }, gateway = f.gatewayId) => `${gateway}/${f.bootId}/${f.seq}`;

export class Sequencer {
  private readonly next = new Map<string, number>();
  constructor(readonly bootId = BOOT_ID) {}

  take(gateway: string): number {
    const seq = this.next.get(gateway) ?? 0;
    this.next.set(gateway, (seq + 1) >>> 0);
    return seq;
  }
}

/** Shared by every encoder in the process, so two encoders for one gateway never collide. */
export const processSequencer = new Sequencer();

/** A map that forgets its least recently touched entry past `max`. */
export function touch<V>(map: Map<string, V>, id: string, make: () => V, max: number): V {
  const v = map.get(id) ?? make();
  map.delete(id);
  map.set(id, v);
  if (map.size > max) map.delete(map.keys().next().value!);
  return v;
}

export interface SeenResult { duplicate: boolean }

/**
 * Duplicates in (gateway, boot) streams as one observer sees them: a seq among the last
 * `window` of its stream seen before is a duplicate. O(1) per frame however far the seqs
 * jump, and at most `maxStreams` streams (least recently seen forgotten), so made-up
 * gateways or boots cannot grow it. Gaps are GapWatch's.
 */
export class SequenceTracker {
  private readonly streams = new Map<string, SeenWindow>();
  duplicates = 0;

  constructor(private readonly window = 8192, private readonly maxStreams = 1024) {}

  see(gateway: string, bootId: number, seq: number): SeenResult {
    const s = touch(this.streams, `${gateway}/${bootId}`, () => new SeenWindow(this.window), this.maxStreams);
    const duplicate = s.mark(seq);
    if (duplicate) this.duplicates++;
    return { duplicate };
  }
}

export interface Gap { gateway: string; bootId: number; from: number; to: number; count: number }
export interface Recovery { gateway: string; bootId: number; count: number }
/** A jump too long to be a gap (a forged or corrupt seq, a stream that started over): counted, not enumerated. */
export interface Reset { gateway: string; bootId: number; from: number; to: number }

interface GapStream { gateway: string; bootId: number; highest: number; missing: RunSet; reported: RunSet; recovered: number }

/** Seqs a stream may skip and still be watched one by one: above the outbox cap (100,000). */
export const MAX_GAP = 1 << 17;

/**
 * Gaps in each (gateway, boot) stream. A seq skipped and still not seen `reorderMs` later is
 * reported once; one that turns up after that (a resend) counts as recovered. Tails in a
 * shared group each see only part of a stream, so the cloud link feeds this with the
 * answers of its peers too: a gap is a frame no tail of the group has seen.
 * Skips are runs (O(log runs) per frame whatever the seqs); a frame more than `maxGap`
 * away either way is a reset: the stream starts again there, and nothing is reported
 * missing. An answer (`answer`: this tail's or a peer's, which come late and in any order)
 * only fills or extends a stream within that distance, never resets it.
 */
export class GapWatch {
  private readonly streams = new Map<string, GapStream>();
  private readonly resets: Reset[] = [];
  /** Gaps reported ahead of the window: runs pushed out past the cap. */
  private readonly pending: Gap[] = [];
  /** Frames reported missing, how many of those arrived later, and resets seen. */
  reported = 0;
  recovered = 0;
  resetCount = 0;

  constructor(private readonly reorderMs = 3000, private readonly maxGap = MAX_GAP, private readonly maxStreams = 1024, private readonly maxRuns = 1024) {}

  see(gateway: string, bootId: number, seq: number, now = Date.now(), answer = false): void {
    const s = touch(this.streams, `${gateway}/${bootId}`, () => ({
      gateway, bootId, highest: seq - 1, missing: new RunSet(this.maxRuns), reported: new RunSet(this.maxRuns), recovered: 0,
    }), this.maxStreams);
    if (seq > s.highest + this.maxGap || seq < s.highest - this.maxGap) {
      if (answer) return;
      this.resetCount++;
      if (this.resets.length < 64) this.resets.push({ gateway, bootId, from: s.highest, to: seq });
      s.missing.clear();
      s.reported.clear();
      s.highest = seq;
    } else if (seq > s.highest) {
      // Runs pushed out past the cap are old skips: reported now rather than forgotten.
      this.pending.push(...s.missing.append(s.highest + 1, seq - 1, now).map((r) => this.gap(s, r)));
      s.highest = seq;
    } else if (!s.missing.delete(seq) && s.reported.delete(seq)) {
      s.recovered++;
      this.recovered++;
    }
  }


  private gap(s: GapStream, r: Run): Gap {
    s.reported.append(r.from, r.to, r.since);
    return { gateway: s.gateway, bootId: s.bootId, from: r.from, to: r.to, count: r.to - r.from + 1 };
  }

  /** Gaps older than the reorder window and not yet reported (as runs of seqs), recoveries and resets since the last sweep. */
  sweep(now = Date.now()): { gaps: Gap[]; recoveries: Recovery[]; resets: Reset[] } {
    const gaps = this.pending.splice(0);
    const recoveries: Recovery[] = [];
    for (const s of this.streams.values()) {
      let n = 0;
      while (n < s.missing.runs.length && s.missing.runs[n].since <= now - this.reorderMs) n++;
      for (const r of s.missing.shift(n)) gaps.push(this.gap(s, r));
      if (s.recovered) recoveries.push({ gateway: s.gateway, bootId: s.bootId, count: s.recovered });
      s.recovered = 0;
    }
    for (const g of gaps) this.reported += g.count;
    return { gaps, recoveries, resets: this.resets.splice(0) };
  }

  /** Nothing can be seen while the link is down: on reconnect every open skip gets a full window again. */
  restartClock(now = Date.now()): void {
    for (const s of this.streams.values()) for (const r of s.missing.runs) r.since = now;
  }

  /** Frames reported missing and not (yet) recovered. */
  open(): number { return this.reported - this.recovered; }
}
