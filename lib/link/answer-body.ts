// The JSON body of a result frame for one tail answer of any task (lib/task results): what
// the gateway's mqtt-transmit emits as msg.payload. Scores keep 4 decimals — a full double
// costs 13 more bytes per number on the downlink. A classification keeps the body it has
// always had ({label, index, confidence}, as the early exit's; `top` only when the task asks for more).
import type { TaskResult } from '../task';

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export function answerBody(result: TaskResult): Record<string, unknown> {
  switch (result.kind) {
    case 'classification': {
      const top = result.top.map((t) => ({ index: t.index, label: t.label, confidence: r4(t.confidence) }));
      return { label: result.label, index: result.index, confidence: r4(result.confidence), ...(top.length > 1 ? { top } : {}) };
    }
    case 'multilabel':
      return { kind: result.kind, positive: result.positive.map((p) => ({ index: p.index, label: p.label, probability: r4(p.probability) })) };
    case 'detection':
      return { kind: result.kind, detections: result.detections.map((d) => ({ box: d.box.map(r4), index: d.index, label: d.label, score: r4(d.score) })) };
    case 'tensors':
      return { kind: result.kind, outputs: result.outputs };
  }
}
