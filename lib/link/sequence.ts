// Sequence numbers per gateway: the edge numbers its frames within a boot, the cloud
// watches the numbers to tell duplicates (drop) from gaps (report).
import { randomInt } from 'node:crypto';

/** One random boot id per process: (gateway, boot, seq) never repeats across restarts. */
export const BOOT_ID = randomInt(1, 0xffffffff);

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

interface Stream { highest: number; missing: Set<number>; recent: Set<number>; order: number[] }

export interface SeenResult { duplicate: boolean; newGaps: number }

/**
 * Tracks (gateway, boot) streams on the cloud. A seq seen before is a duplicate; a jump
 * past highest+1 opens a gap, which a late (resent) frame fills again.
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
