// tensors: the tail's raw outputs, for a user's own function node. The answer carries
// every output as float32 with its dims; agreement is the largest absolute difference.
import { AnswerError, AnswerReader, AnswerWriter } from './answer-bytes';
import { Outputs, Task, TaskContext, TensorsResult, outputOf, sameCount } from './types';

const MAX_RANK = 8;

export function maxAbsError(original: Outputs[], split: Outputs[], names: string[]): number {
  sameCount(original, split);
  let worst = 0;
  original.forEach((o, i) => {
    for (const name of names) {
      const a = outputOf(o, name).data;
      const b = outputOf(split[i], name).data;
      if (a.length !== b.length) throw new Error(`output "${name}" has ${a.length} values in the original, ${b.length} split`);
      for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]));
    }
  });
  return worst;
}

export function tensorsTask(ctx: TaskContext): Task {
  const spec = ctx.task?.kind === 'tensors' ? ctx.task : undefined;
  const names = spec?.outputs ?? ctx.tail.outputs ?? [ctx.tail.logits];
  return {
    kind: 'tensors',
    reads: names,
    minAgreement: 0,
    interpret(out) {
      const outputs: TensorsResult['outputs'] = {};
      for (const name of names) { const t = outputOf(out, name); outputs[name] = { dims: [...t.dims], data: Array.from(t.data) }; }
      return { kind: 'tensors', outputs };
    },
    encodeAnswer(r) {
      const { outputs } = r as TensorsResult;
      const w = new AnswerWriter();
      for (const name of names) {
        const t = outputs[name];
        if (!t) throw new AnswerError(`tensors answer: no output "${name}"`);
        w.varint(t.dims.length);
        for (const d of t.dims) w.varint(d);
        for (const v of t.data) w.f32(v);
      }
      return w.finish();
    },
    decodeAnswer(body) {
      const r = new AnswerReader(body, 'tensors');
      const outputs: TensorsResult['outputs'] = {};
      for (const name of names) {
        const rank = r.varint();
        if (rank > MAX_RANK) throw new AnswerError(`tensors answer: rank ${rank} above ${MAX_RANK}`);
        const dims = Array.from({ length: rank }, () => r.varint());
        const size = dims.reduce((a, b) => a * b, 1);
        if (size * 4 > body.length) throw new AnswerError(`tensors answer: [${dims}] needs ${size * 4} bytes, the body has ${body.length}`);
        outputs[name] = { dims, data: Array.from({ length: size }, () => r.f32()) };
      }
      r.end();
      return { kind: 'tensors', outputs };
    },
    agreement(original, split) {
      return { measure: 'maxAbsError', value: maxAbsError(original, split, names) };
    },
  };
}
