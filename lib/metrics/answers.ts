// What an answer says, whatever the bundle's task (lib/task results): its kind, the figures
// the dashboard and /metrics count for it (objects found, labels set), and how it scores
// against a reference — ground truth, or the original model's own answer, which is what a
// split-made bundle's sample labels are ("agreement" rather than accuracy).
import { Box, Scored, matchCount } from '../task/boxes';

/** correct/wrong: against ground truth; agree/disagree: against the original model's answer. */
export type Outcome = 'correct' | 'wrong' | 'agree' | 'disagree' | 'unlabelled' | 'error';
export type AnswerKind = 'classification' | 'multilabel' | 'detection' | 'tensors';

/** An answer as it reaches the edge's outputs: one of lib/task's results, or an error. */
export interface AnyAnswer {
  kind?: unknown; index?: unknown; label?: unknown; error?: unknown;
  positive?: unknown; detections?: unknown; outputs?: unknown; confidence?: unknown;
}

interface Found { box?: unknown; index?: unknown; label?: unknown }

export interface AnswerFigures {
  kind: AnswerKind;
  /** Detection: boxes found. */
  objects?: number;
  /** Multilabel: labels decided present. */
  positives?: number;
}

/** The kind of an answer: declared, or told by its fields (answers without `kind` are classifications). */
export function answerKind(a: AnyAnswer): AnswerKind {
  if (a.kind === 'multilabel' || a.kind === 'detection' || a.kind === 'tensors' || a.kind === 'classification') return a.kind;
  if (Array.isArray(a.detections)) return 'detection';
  if (Array.isArray(a.positive)) return 'multilabel';
  if (a.outputs !== undefined && a.index === undefined) return 'tensors';
  return 'classification';
}

export function answerFigures(a: AnyAnswer): AnswerFigures {
  const kind = answerKind(a);
  if (kind === 'detection') return { kind, objects: (a.detections as unknown[]).length };
  if (kind === 'multilabel') return { kind, positives: (a.positive as unknown[]).length };
  return { kind };
}

const sameClass = (truth: unknown, found: { index?: unknown; label?: unknown }) =>
  String(truth) === String(found.label) || String(truth) === String(found.index);

const isBox = (v: unknown): v is Box => Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'number');

/** Every reference box found once, same class, IoU ≥ 0.5, and nothing more. */
function detectionsAgree(truth: Found[], found: Found[]): boolean {
  if (truth.length !== found.length) return false;
  if (![...truth, ...found].every((d) => isBox(d.box))) return false;
  // A reference may name its classes by label: the answer's own boxes say which index that is.
  const indexOf = (d: Found) => (typeof d.index === 'number' ? d.index : found.find((f) => String(f.label) === String(d.label))?.index as number ?? -1);
  const scored = (list: Found[]): Scored[] => list.map((d) => ({ box: d.box as Box, index: indexOf(d), score: typeof (d as { score?: unknown }).score === 'number' ? (d as { score: number }).score : 1 }));
  return matchCount(scored(truth), scored(found)) === truth.length;
}

/**
 * Scores an answer against `truth`: a class (index or label) for classification; a list of
 * classes for multilabel; a list of {box, index|label} (or another detection answer) or an
 * object count for detection. Raw tensors have no right answer.
 */
export function outcomeOf(truth: unknown, answer: AnyAnswer): Outcome {
  if (answer.error !== undefined && answer.error !== null) return 'error';
  if (truth === undefined || truth === null || truth === '') return 'unlabelled';
  const kind = answerKind(answer);
  if (kind === 'tensors') return 'unlabelled';
  if (kind === 'multilabel') {
    const want = (Array.isArray(truth) ? truth : (truth as AnyAnswer).positive ?? [truth]) as unknown[];
    const got = answer.positive as Found[];
    const ok = want.length === got.length && want.every((t) => got.some((g) => sameClass(typeof t === 'object' && t ? (t as Found).index : t, g)));
    return ok ? 'correct' : 'wrong';
  }
  if (kind === 'detection') {
    const found = answer.detections as Found[];
    if (typeof truth === 'number') return truth === found.length ? 'correct' : 'wrong';
    const want = (Array.isArray(truth) ? truth : (truth as AnyAnswer).detections) as Found[] | undefined;
    if (!Array.isArray(want)) return 'unlabelled';
    return detectionsAgree(want, found) ? 'correct' : 'wrong';
  }
  if (typeof truth === 'number') return truth === answer.index ? 'correct' : 'wrong';
  return sameClass(truth, answer) ? 'correct' : 'wrong';
}

/**
 * An answer judged by what its message carries: `reference` (the original model's answer
 * for this frame) gives agree/disagree, `label` gives correct/wrong — unless the labels are
 * themselves the original model's answers (a bundle split without labels), when they too
 * measure agreement.
 */
export function judge(answer: AnyAnswer, by: { label?: unknown; reference?: unknown; labelsAreOriginal?: boolean }): Outcome {
  const reference = by.reference ?? (by.labelsAreOriginal ? by.label : undefined);
  if (reference === undefined || reference === null || reference === '') return outcomeOf(by.label, answer);
  const o = outcomeOf(reference, answer);
  return o === 'correct' ? 'agree' : o === 'wrong' ? 'disagree' : o;
}
