// The shapes every task module shares (CONTRACT.md, "lib/task").
import type { Manifest } from '../model/manifest';

export type TaskKind = 'classification' | 'multilabel' | 'detection' | 'tensors';

/** The tail outputs of ONE sample: the batch axis is not in `dims`. */
export type Outputs = Record<string, { data: Float32Array; dims: number[] }>;

export interface ClassScore { index: number; label: string; confidence: number }
export interface ClassificationResult extends ClassScore { kind: 'classification'; top: ClassScore[] }
export interface MultilabelResult { kind: 'multilabel'; positive: { index: number; label: string; probability: number }[] }
/** box: [x1, y1, x2, y2], in the model's own units (0..1 when normalized, else input pixels). */
export interface Detection { box: [number, number, number, number]; index: number; label: string; score: number }
export interface DetectionResult { kind: 'detection'; detections: Detection[] }
export interface TensorsResult { kind: 'tensors'; outputs: Record<string, { dims: number[]; data: number[] }> }
export type TaskResult = ClassificationResult | MultilabelResult | DetectionResult | TensorsResult;

export interface AgreementMeasure { measure: 'top1' | 'decision' | 'boxes@0.5' | 'maxAbsError'; value: number }

export interface Task {
  kind: TaskKind;
  /** The tail outputs this task reads (names in the manifest's tail). */
  reads: string[];
  interpret(out: Outputs): TaskResult;
  encodeAnswer(r: TaskResult): Uint8Array;
  decodeAnswer(body: Uint8Array): TaskResult;
  /** How closely split outputs reproduce the original's, by this task's measure. */
  agreement(original: Outputs[], split: Outputs[]): AgreementMeasure;
  /** Share of right answers against known labels (class indices per sample); absent when labels mean nothing for the task. */
  accuracy?(outputs: Outputs[], labels: number[][]): number;
  /** Lowest agreement at which head then tail still counts as the original model. */
  minAgreement: number;
}

export type TaskContext = Pick<Manifest, 'labels' | 'tail' | 'task' | 'input'>;

export function labelOf(ctx: TaskContext, index: number): string {
  return ctx.labels[index] ?? String(index);
}

export function outputOf(out: Outputs, name: string): { data: Float32Array; dims: number[] } {
  const t = out[name];
  if (!t) throw new Error(`the tail gave no output "${name}" (it gave ${Object.keys(out).join(', ') || 'none'})`);
  return t;
}

export function sameCount(original: Outputs[], split: Outputs[]): void {
  if (original.length !== split.length) throw new Error(`${original.length} original outputs against ${split.length} split ones`);
}

/** Sums what `score` gives for each (original, split) pair of samples: [agreeing, total]. */
export function tally(original: Outputs[], split: Outputs[], score: (a: Outputs, b: Outputs) => [number, number]): [number, number] {
  sameCount(original, split);
  let hits = 0;
  let total = 0;
  original.forEach((o, i) => { const [h, t] = score(o, split[i]); hits += h; total += t; });
  return [hits, total];
}
