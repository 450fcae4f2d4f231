// multilabel: one [classes] output, each class decided on its own (sigmoid probability at
// or above the threshold). The answer lists the positive classes; agreement is the share
// of (sample, class) decisions that match.
import { AnswerReader, AnswerWriter } from './answer-bytes';
import { MultilabelResult, Outputs, Task, TaskContext, labelOf, outputOf, tally } from './types';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function multilabelTask(ctx: TaskContext): Task {
  const spec = ctx.task?.kind === 'multilabel' ? ctx.task : undefined;
  const name = spec?.output ?? ctx.tail.logits;
  const threshold = spec?.threshold ?? 0.5;
  const probability = spec?.activation === 'sigmoid' ? sigmoid : (x: number) => x;
  const decisions = (out: Outputs) => Array.from(outputOf(out, name).data, (x) => probability(x) >= threshold);
  const classes = () => Math.max(ctx.labels.length, 1);
  const sameDecisions = (o: Outputs, s: Outputs): [number, number] => {
    const [a, b] = [decisions(o), decisions(s)];
    return [a.filter((d, k) => d === b[k]).length, a.length];
  };
  return {
    kind: 'multilabel',
    reads: [name],
    minAgreement: 0.999,
    interpret(out) {
      const data = outputOf(out, name).data;
      const positive = [];
      for (let i = 0; i < data.length; i++) {
        const p = probability(data[i]);
        if (p >= threshold) positive.push({ index: i, label: labelOf(ctx, i), probability: p });
      }
      return { kind: 'multilabel', positive };
    },
    encodeAnswer(r) {
      const { positive } = r as MultilabelResult;
      const w = new AnswerWriter().varint(positive.length);
      for (const p of positive) w.varint(p.index).unit16(p.probability);
      return w.finish();
    },
    decodeAnswer(body) {
      const r = new AnswerReader(body, 'multilabel');
      const positive = [];
      for (let n = r.count(3); n > 0; n--) {
        const index = r.classIndex(classes());
        positive.push({ index, label: labelOf(ctx, index), probability: r.unit16() });
      }
      r.end();
      return { kind: 'multilabel', positive };
    },
    agreement(original, split) {
      const [same, total] = tally(original, split, sameDecisions);
      return { measure: 'decision', value: total ? same / total : 1 };
    },
    accuracy(outputs, labels) {
      let right = 0;
      let total = 0;
      outputs.forEach((o, i) => {
        const truth = new Set(labels[i]);
        decisions(o).forEach((d, k) => { total++; if (d === truth.has(k)) right++; });
      });
      return total ? right / total : 0;
    },
  };
}
