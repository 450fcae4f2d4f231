// A bundle measured on images of any task (lib/task): the unsplit model (head → tail in
// float32, which split-time checks proved equal to the original) against each rate level,
// by the task's agreement measure, with accuracy where labels are known.
import type { ModelRuntime } from '../model/runtime';
import { TaskResult, maxAbsError, taskFor } from '../task';
import { runBundle } from './bundle-run';

export interface TaskRateReport {
  level: number; name: string;
  /** Agreement with the unsplit model by the task's measure. */
  agreement: { measure: string; value: number };
  maxAbsError: number;
  accuracy: number | null;
  codedBytes: number; idealBytes: number; maxCodedBytes: number;
}

/** What the unsplit model answered, so a figure of 100 % agreement on constant answers shows as such. */
export interface AnswerSummary { distinctAnswers: number; perImage: number }

export interface TaskEvalReport {
  /** Which images the figures come from. */
  dataset: string;
  count: number;
  task: string;
  answers: AnswerSummary;
  unsplitAccuracy: number | null;
  rates: TaskRateReport[];
}

function summarize(results: TaskResult[]): AnswerSummary {
  const items = results.map((r) => (r.kind === 'classification' ? [r.index] : r.kind === 'multilabel' ? r.positive.map((p) => p.index)
    : r.kind === 'detection' ? r.detections.map((d) => d.index) : []));
  return {
    distinctAnswers: new Set(items.map((i) => JSON.stringify(i))).size,
    perImage: items.reduce((n, i) => n + i.length, 0) / Math.max(1, results.length),
  };
}

export async function evaluateTask(rt: ModelRuntime, inputs: Float32Array, count: number, labels: number[][] | null, dataset: string): Promise<TaskEvalReport> {
  if (count < 1) throw new Error(`${dataset}: no image to measure on`);
  const m = rt.manifest;
  const task = taskFor(m);
  const names = m.tail.outputs ?? [m.tail.logits];
  const unsplit = await runBundle(rt, inputs, count, null);
  const accuracyOf = (outs: typeof unsplit.outputs) => (labels && task.accuracy ? task.accuracy(outs, labels) : null);
  const rates: TaskRateReport[] = [];
  for (const r of m.rates) {
    const run = await runBundle(rt, inputs, count, r.level);
    const a = task.agreement(unsplit.outputs, run.outputs);
    rates.push({
      level: r.level, name: r.name, agreement: { measure: a.measure, value: a.value },
      maxAbsError: maxAbsError(unsplit.outputs, run.outputs, names), accuracy: accuracyOf(run.outputs),
      codedBytes: run.codedBytes, idealBytes: run.idealBytes, maxCodedBytes: run.maxCodedBytes,
    });
  }
  return { dataset, count, task: task.kind, answers: summarize(unsplit.outputs.map((o) => task.interpret(o))), unsplitAccuracy: accuracyOf(unsplit.outputs), rates };
}
