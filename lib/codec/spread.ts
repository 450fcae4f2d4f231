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

export function spreadSlots(freq: Int32Array, cum: Int32Array, p: number): SpreadLayout {
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

  const slotOf = new Uint16Array(M);
  const slotIndex = new Uint16Array(M);
  const slotRank = new Uint16Array(M);
  for (let slot = 0; slot < M; slot++) {
    const k = orderK[slot];
    const j = orderJ[slot];
    slotOf[cum[k] + j] = slot;
    slotIndex[slot] = k;
    slotRank[slot] = j;
  }
  return { slotOf, slotIndex, slotRank };
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
