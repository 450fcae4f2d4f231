// classification: one [classes] output of logits (or probabilities); the answer is the
// top class and its softmax confidence, agreement is top-1.
import { argmax, softmax } from '../exit/policy';
import { decodeClassAnswer, encodeClassAnswer } from './classification-answer';
import { ClassificationResult, Outputs, Task, TaskContext, labelOf, outputOf, sameCount } from './types';

/** Probabilities when the model already ends in a softmax (all in [0, 1], summing to 1), else softmax of logits. */
export function classProbabilities(v: Float32Array): Float64Array {
  let sum = 0;
  let inUnit = true;
  for (const x of v) { sum += x; if (x < 0 || x > 1) inUnit = false; }
  return inUnit && Math.abs(sum - 1) < 1e-3 ? Float64Array.from(v) : softmax(v, 0, v.length);
}

export function classificationTask(ctx: TaskContext): Task {
  const spec = ctx.task?.kind === 'classification' ? ctx.task : undefined;
  const name = spec?.output ?? ctx.tail.logits;
  const topK = Math.max(1, spec?.topK ?? 1);
  const top1 = (out: Outputs) => { const t = outputOf(out, name); return argmax(t.data, 0, t.data.length); };
  return {
    kind: 'classification',
    reads: [name],
    minAgreement: 0.999,
    interpret(out) {
      const t = outputOf(out, name);
      const p = classProbabilities(t.data);
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, topK);
      const top = order.map((index) => ({ index, label: labelOf(ctx, index), confidence: p[index] }));
      return { kind: 'classification', ...top[0], top };
    },
    encodeAnswer(r) {
      const c = r as ClassificationResult;
      return encodeClassAnswer({ index: c.index, confidence: c.confidence });
    },
    decodeAnswer(body) {
      const a = decodeClassAnswer(body, Math.max(ctx.labels.length, 1));
      const one = { index: a.index, label: labelOf(ctx, a.index), confidence: a.confidence };
      return { kind: 'classification', ...one, top: [one] };
    },
    agreement(original, split) {
      sameCount(original, split);
      const same = original.filter((o, i) => top1(o) === top1(split[i])).length;
      return { measure: 'top1', value: original.length ? same / original.length : 1 };
    },
    accuracy(outputs, labels) {
      const right = outputs.filter((o, i) => top1(o) === labels[i][0]).length;
      return outputs.length ? right / outputs.length : 0;
    },
  };
}
