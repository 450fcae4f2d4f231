// Box geometry for detection: format conversion, IoU, class-aware non-maximum suppression
// and the greedy matching that agreement counts.
import type { BoxFormat } from '../model/manifest';

export type Box = [number, number, number, number]; // x1, y1, x2, y2

export function toXyxy(v: ArrayLike<number>, at: number, format: BoxFormat): Box {
  const [a, b, c, d] = [v[at], v[at + 1], v[at + 2], v[at + 3]];
  if (format === 'yxyx') return [b, a, d, c];
  if (format === 'cxcywh') return [a - c / 2, b - d / 2, a + c / 2, b + d / 2];
  return [a, b, c, d];
}

export function iou(p: Box, q: Box): number {
  const w = Math.min(p[2], q[2]) - Math.max(p[0], q[0]);
  const h = Math.min(p[3], q[3]) - Math.max(p[1], q[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const area = (b: Box) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
  const union = area(p) + area(q) - inter;
  return union > 0 ? inter / union : 0;
}

export interface Scored { box: Box; index: number; score: number }

/** Greedy NMS within each class, then the best `max` of all classes by score. */
export function nms(candidates: Scored[], iouThreshold: number, max: number): Scored[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Scored[] = [];
  for (const c of sorted) {
    if (kept.length >= max) break;
    if (!kept.some((k) => k.index === c.index && iou(k.box, c.box) > iouThreshold)) kept.push(c);
  }
  return kept;
}

/** Pairs of the same class at IoU ≥ `at`, each box used once, best-scoring boxes first. */
export function matchCount(want: Scored[], got: Scored[], at = 0.5): number {
  const used = new Set<number>();
  let matched = 0;
  for (const g of [...got].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = at;
    want.forEach((w, i) => {
      if (used.has(i) || w.index !== g.index) return;
      const v = iou(w.box, g.box);
      if (v >= bestIou) { best = i; bestIou = v; }
    });
    if (best >= 0) { used.add(best); matched++; }
  }
  return matched;
}
