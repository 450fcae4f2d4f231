// Sequence numbers per gateway: the edge numbers its frames within a boot, the cloud
// watches the numbers to tell duplicates (drop) from gaps (report).
import { randomInt } from 'node:crypto';

/** One random boot id per process: (gateway, boot, seq) never repeats across restarts. */
export const BOOT_ID = randomInt(1, 0xffffffff);

/** The identity of a frame and of the answer to it, end to end. */
export const frameKey = (f: { gatewayId: string; bootId: number; seq: number }) => `${f.gatewayId}/${f.bootId}/${f.seq}`;

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
function touch<V>(map: Map<string, V>, id: string, make: () => V, max: number): V {
  const v = map.get(id) ?? make();
  map.delete(id);
  map.set(id, v);
  if (map.size > max) map.delete(map.keys().next().value!);
  return v;
}

interface Stream { highest: number; missing: Set<number>; recent: Set<number>; order: number[] }

export interface SeenResult { duplicate: boolean; newGaps: number }

/**
 * Tracks (gateway, boot) streams as one observer sees them. A seq seen before is a
 * duplicate; a jump past highest+1 opens a gap, which a late (resent) frame fills again.
 * Gaps here are immediate and local: GapWatch is the one for a tail in a shared group.
 */
export class SequenceTracker {
  private readonly streams = new Map<string, Stream>();
  gaps = 0;
  duplicates = 0;

  constructor(private readonly remember = 65_536) {}

  see(gateway: string, bootId: number, seq: number): SeenResult {
    const id = `${gateway}/${bootId}`;
    let s = this.streams.get(id);
    if (!s) {
      s = { highest: seq - 1, missing: new Set(), recent: new Set(), order: [] };
      this.streams.set(id, s);
    }
    if (s.recent.has(seq)) {
      this.duplicates++;
      return { duplicate: true, newGaps: 0 };
    }
    s.recent.add(seq);
    s.order.push(seq);
    if (s.order.length > this.remember) s.recent.delete(s.order.shift()!);
    let newGaps = 0;
    if (seq > s.highest + 1) {
      for (let k = s.highest + 1; k < seq && s.missing.size < this.remember; k++) { s.missing.add(k); newGaps++; }
      this.gaps += newGaps;
    }
    if (s.missing.delete(seq)) this.gaps--;
    s.highest = Math.max(s.highest, seq);
    return { duplicate: false, newGaps };
  }

  /** Sequence numbers skipped and not (yet) filled, over all streams. */
  openGaps(): number { return this.gaps; }
}

export interface Gap { gateway: string; bootId: number; from: number; to: number; count: number }
export interface Recovery { gateway: string; bootId: number; count: number }

interface GapStream { gateway: string; bootId: number; highest: number; missing: Map<number, number>; reported: Set<number>; recovered: number }

/**
 * Gaps in each (gateway, boot) stream. A seq skipped and still not seen `reorderMs` later is
 * reported once; one that turns up after that (a resend) counts as recovered. Tails in a
 * shared group each see only part of a stream, so the cloud link feeds this with the
 * answers of its peers too: a gap is a frame no tail of the group has seen.
 */
export class GapWatch {
  private readonly streams = new Map<string, GapStream>();
  private readonly overflow: Gap[] = [];
  /** Frames reported missing, and how many of those arrived later. */
  reported = 0;
  recovered = 0;

  constructor(private readonly reorderMs = 3000, private readonly maxMissing = 65_536, private readonly maxStreams = 1024) {}

  see(gateway: string, bootId: number, seq: number, now = Date.now()): void {
    const s = touch(this.streams, `${gateway}/${bootId}`, () => ({ gateway, bootId, highest: seq - 1, missing: new Map(), reported: new Set(), recovered: 0 }), this.maxStreams);
    if (seq > s.highest) {
      // A jump too long to watch seq by seq (an outbox that dropped at its cap) is reported at once.
      const from = Math.max(s.highest + 1, seq - this.maxMissing);
      if (from > s.highest + 1) this.overflow.push({ gateway, bootId, from: s.highest + 1, to: from - 1, count: from - 1 - s.highest });
      for (let k = from; k < seq; k++) s.missing.set(k, now);
      s.highest = seq;
    } else if (!s.missing.delete(seq) && s.reported.delete(seq)) {
      s.recovered++;
      this.recovered++;
    }
  }

  /** Gaps older than the reorder window and not yet reported (as runs of seqs), and recoveries since the last sweep. */
  sweep(now = Date.now()): { gaps: Gap[]; recoveries: Recovery[] } {
    const gaps = this.overflow.splice(0);
    const recoveries: Recovery[] = [];
    for (const s of this.streams.values()) {
      let run: Gap | null = null;
      for (const [seq, since] of s.missing) {
        if (since > now - this.reorderMs) break; // insertion order is seq order, and so age order
        s.missing.delete(seq);
        s.reported.add(seq);
        if (s.reported.size > this.maxMissing) s.reported.delete(s.reported.values().next().value!);
        if (run && seq === run.to + 1) { run.to = seq; run.count++; continue; }
        run = { gateway: s.gateway, bootId: s.bootId, from: seq, to: seq, count: 1 };
        gaps.push(run);
      }
      if (s.recovered) recoveries.push({ gateway: s.gateway, bootId: s.bootId, count: s.recovered });
      s.recovered = 0;
    }
    for (const g of gaps) this.reported += g.count;
    return { gaps, recoveries };
  }

  /** Nothing can be seen while the link is down: on reconnect every open skip gets a full window again. */
  restartClock(now = Date.now()): void {
    for (const s of this.streams.values()) for (const seq of s.missing.keys()) s.missing.set(seq, now);
  }

  /** Frames reported missing and not (yet) recovered. */
  open(): number { return this.reported - this.recovered; }
}
