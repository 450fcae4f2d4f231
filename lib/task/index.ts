// What a bundle's tail answers (CONTRACT.md, "lib/task"): one small module per task kind
// turns tail outputs into a result, a compact answer and an agreement measure. Nodes,
// eval and the split-time checks all go through taskFor().
import type { Manifest } from '../model/manifest';
import { classificationTask } from './classification';
import { multilabelTask } from './multilabel';
import { detectionTask } from './detection';
import { tensorsTask } from './tensors';
import type { Outputs, Task, TaskContext } from './types';

export * from './types';
export { AnswerError } from './answer-bytes';
export { encodeClassAnswer, decodeClassAnswer } from './classification-answer';
export { maxAbsError } from './tensors';
export { iou, nms } from './boxes';

export function taskFor(manifest: Pick<Manifest, 'labels' | 'tail' | 'task' | 'input'> | TaskContext): Task {
  switch (manifest.task?.kind ?? 'classification') {
    case 'classification': return classificationTask(manifest);
    case 'multilabel': return multilabelTask(manifest);
    case 'detection': return detectionTask(manifest);
    case 'tensors': return tensorsTask(manifest);
    default: throw new Error(`unknown task kind "${String(manifest.task?.kind)}"`);
  }
}

/** Batched outputs ([n, ...] each) → one Outputs per sample. */
export function perSample(outs: Record<string, { data: Float32Array; dims: number[] }>, n: number): Outputs[] {
  const samples: Outputs[] = Array.from({ length: n }, () => ({}));
  for (const [name, t] of Object.entries(outs)) {
    if (t.dims[0] !== n) throw new Error(`output "${name}" has shape [${t.dims}], not a batch of ${n}`);
    const size = t.data.length / n;
    for (let i = 0; i < n; i++) samples[i][name] = { data: t.data.subarray(i * size, (i + 1) * size), dims: t.dims.slice(1) };
  }
  return samples;
}
