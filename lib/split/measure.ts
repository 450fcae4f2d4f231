// How closely split outputs reproduce the original model's, by the task's own measure
// (lib/task) and by the largest absolute difference over every tail output; and the
// written bundle measured the way a gateway and a tail run it (lib/eval/bundle-run).
import type { ModelRuntime } from '../model/runtime';
import { runBundle } from '../eval/bundle-run';
import { Outputs, Task, maxAbsError } from '../task';

export interface Agreement {
  /** The task's measure: top1, decision, boxes@0.5 or maxAbsError. */
  measure: string;
  value: number;
  /** Largest absolute difference over every tail output. */
  maxAbsError: number;
  /** Top-1 agreement, for classification bundles (the figure older reports had). */
  argmaxAgreement?: number;
}

export function compare(task: Task, names: string[], original: Outputs[], got: Outputs[]): Agreement {
  const a = task.agreement(original, got);
  return { measure: a.measure, value: a.value, maxAbsError: maxAbsError(original, got, names), ...(a.measure === 'top1' ? { argmaxAgreement: a.value } : {}) };
}

export interface RateMeasurement extends Agreement {
  accuracy: number | null;
  codedBytes: number;
  idealBytes: number;
  /** Frames whose coded size is the largest seen. */
  maxCodedBytes: number;
}

/** Every sample through head → encoder → quantize + code → decode → decoder → tail. */
export async function measureRate(rt: ModelRuntime, level: number, inputs: Float32Array, count: number,
  original: Outputs[], task: Task, names: string[], labels: number[][] | null): Promise<RateMeasurement> {
  const run = await runBundle(rt, inputs, count, level);
  const accuracy = labels && task.accuracy ? task.accuracy(run.outputs, labels) : null;
  return { ...compare(task, names, original, run.outputs), accuracy, codedBytes: run.codedBytes, idealBytes: run.idealBytes, maxCodedBytes: run.maxCodedBytes };
}
