/**
 * The interleaved ("spread") slot layout, used while the coder state is small.
 * Occurrence j of symbol k (0 <= j < freq[k]) ideally sits at (2j + 1) / (2 freq[k]) of
 * the way through the slots; occurrences are sorted by that fraction (exact: compare
 * (2j+1)*freq[l] with (2i+1)*freq[k]), ties to the lower symbol index, and the i-th in
 * that order gets slot i. With contiguous blocks, the first symbols coded into a small
 * state cost up to ~10 bits extra per frame; interleaved, they cost about what they should.
 */
export interface SpreadLayout {
  /** slotOf[cum[k] + j]: the slot of occurrence j of index k. */
  readonly slotOf: Uint16Array;
  /** slotIndex[slot], slotRank[slot]: which index owns a slot and which occurrence it is. */
  readonly slotIndex: Uint16Array;
  readonly slotRank: Uint16Array;
}

/**
 * Each side's tables are built on first use: an edge only encodes (slotOf), a cloud only
 * decodes (slotIndex, slotRank), and a bundle has dozens of tables of 2^p entries each
 * (4.8 MB of the other side's on a gateway with the shipped bundle).
 */
export function spreadSlots(freq: Int32Array, cum: Int32Array, p: number): SpreadLayout {
  let slotOf: Uint16Array | null = null;
  let decode: { slotIndex: Uint16Array; slotRank: Uint16Array } | null = null;
  const decodeSide = () => (decode ??= decodeSlots(spreadOrder(freq, cum, p)));
  return {
    get slotOf() { return (slotOf ??= encodeSlots(spreadOrder(freq, cum, p), cum)); },
    get slotIndex() { return decodeSide().slotIndex; },
    get slotRank() { return decodeSide().slotRank; },
  };
}

interface SpreadOrder { orderK: Int32Array; orderJ: Int32Array }

/** Slot i holds occurrence orderJ[i] of index orderK[i]. */
function spreadOrder(freq: Int32Array, cum: Int32Array, p: number): SpreadOrder {
  const M = 2 ** p;
  const n = freq.length;
  // Counting sort on bucket floor(M * fraction) = floor((2j+1) * 2^(p-1) / freq[k]):
  // it is monotone in the fraction, and each bucket holds at most one occurrence per symbol.
  const bucketOf = new Int32Array(M);
  const bucketStart = new Int32Array(M + 1);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < freq[k]; j++) {
      const b = Math.floor(((2 * j + 1) * (M / 2)) / freq[k]);
      bucketOf[cum[k] + j] = b;
      bucketStart[b + 1]++;
    }
  }
  for (let b = 0; b < M; b++) bucketStart[b + 1] += bucketStart[b];
  const fill = bucketStart.slice(0, M);
  const orderK = new Int32Array(M);
  const orderJ = new Int32Array(M);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < freq[k]; j++) {
      const at = fill[bucketOf[cum[k] + j]]++;
      orderK[at] = k; // filled in index order, so ties are already in place
      orderJ[at] = j;
    }
  }
  for (let b = 0; b < M; b++) sortBucket(orderK, orderJ, bucketStart[b], bucketStart[b + 1], freq);
  return { orderK, orderJ };
}

function encodeSlots({ orderK, orderJ }: SpreadOrder, cum: Int32Array): Uint16Array {
  const slotOf = new Uint16Array(orderK.length);
  for (let slot = 0; slot < orderK.length; slot++) slotOf[cum[orderK[slot]] + orderJ[slot]] = slot;
  return slotOf;
}

function decodeSlots({ orderK, orderJ }: SpreadOrder): { slotIndex: Uint16Array; slotRank: Uint16Array } {
  return { slotIndex: Uint16Array.from(orderK), slotRank: Uint16Array.from(orderJ) };
}

/** Stable insertion sort of one bucket by the exact fraction (then index, kept by stability). */
function sortBucket(ks: Int32Array, js: Int32Array, from: number, to: number, freq: Int32Array): void {
  for (let a = from + 1; a < to; a++) {
    const k = ks[a];
    const j = js[a];
    let b = a - 1;
    // move left while the earlier item's fraction is larger: (2j'+1)/f' > (2j+1)/f
    while (b >= from && (2 * js[b] + 1) * freq[k] > (2 * j + 1) * freq[ks[b]]) {
      ks[b + 1] = ks[b];
      js[b + 1] = js[b];
      b--;
    }
    ks[b + 1] = k;
    js[b + 1] = j;
  }
}
