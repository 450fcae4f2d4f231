// The cloud answers a batch with a batch: the answers to the frames that arrived in one
// message leave in one message, when the last is ready (or after `waitMs`, so one slow or
// lost inference does not hold the others). The downlink then pays its headers once per
// batch too, and batch sizes follow what the gateway's link made them.
import { encodeBatch } from '../wire';

interface Group { topic: string; waiting: Set<string>; answers: Buffer[]; timer: NodeJS.Timeout }

export class AnswerBatcher {
  private readonly groups = new Map<string, Group>(); // frame key → its group

  constructor(private readonly send: (topic: string, message: Buffer, answers: number) => void, private readonly waitMs = 1000) {}

  /** The frames (keys) of one message, answered on `topic`. One frame needs no group. */
  expect(topic: string, keys: readonly string[]): void {
    const waiting = new Set(keys.filter((k) => !this.groups.has(k)));
    if (waiting.size < 2) return;
    const group: Group = { topic, waiting, answers: [], timer: setTimeout(() => this.flush(group), this.waitMs) };
    group.timer.unref();
    for (const key of waiting) this.groups.set(key, group);
  }

  /** An answer for `key`: true when its group takes it, false when it should go alone. */
  offer(key: string, answer: Buffer): boolean {
    const group = this.groups.get(key);
    if (!group) return false;
    this.groups.delete(key);
    group.waiting.delete(key);
    group.answers.push(answer);
    if (!group.waiting.size) this.flush(group);
    return true;
  }

  private flush(group: Group): void {
    clearTimeout(group.timer);
    for (const key of group.waiting) this.groups.delete(key);
    group.waiting.clear();
    const answers = group.answers.splice(0);
    if (answers.length) this.send(group.topic, answers.length === 1 ? answers[0] : encodeBatch(answers), answers.length);
  }

  /** Send what the open groups hold (on close). */
  flushAll(): void {
    for (const group of new Set(this.groups.values())) this.flush(group);
  }
}
