// Who a message is from, and whether an answer answers what was sent. The gateway's
// identity is the topic it published on (the broker's ACL enforces that, the bytes inside
// a frame nobody checks); an answer counts only if it echoes the frame it answers.
import type { AnswerV2, Frame } from '../wire';
import { parseTopic } from './topics';

/** Why a message was not taken: a frame or answer that does not parse, a header that claims another gateway, an answer that does not echo its frame. */
export type RefusalReason = 'malformed' | 'forged' | 'mismatch';

export interface Refusal {
  /** The gateway of the topic it came on (the edge: its own). */
  gateway: string;
  reason: RefusalReason;
  topic: string;
  detail: string;
}

/** Where a frame came from, by its topic: split/<gateway>/<model>/<kind>. */
export function topicIdentity(topic: string): { gateway: string; model: string } | null {
  const parts = parseTopic(topic);
  return parts?.model ? { gateway: parts.gateway, model: parts.model } : null;
}

/** Why a frame's header disagrees with the topic it came on, or null when it agrees. */
export function headerDisagrees(f: Pick<Frame, 'gatewayId' | 'modelId'>, on: { gateway: string; model: string }): string | null {
  if (f.gatewayId !== on.gateway) return `header says gateway ${f.gatewayId}`;
  if (f.modelId !== on.model) return `header says model ${f.modelId}`;
  return null;
}

/**
 * Why `answer` is not the answer to `sent`, or null when it echoes it: the same boot and
 * seq (its key found it), capture timestamp, model and rate, on the sent frame's topic.
 */
export function echoMismatch(answer: Frame, sent: Frame, answerModel: string | null): string | null {
  const fields = ['gatewayId', 'bootId', 'seq', 'timestampMs', 'modelId', 'rateLevel'] as const;
  for (const k of fields) if (answer[k] !== sent[k]) return `${k} ${String(answer[k])}, the frame has ${String(sent[k])}`;
  if (answerModel !== null && answerModel !== sent.modelId) return `came on the topic of model ${answerModel}, the frame is for ${sent.modelId}`;
  return null;
}

/**
 * The same for a v2 answer, which does not repeat its frame's fields: it must give the
 * CRC of the frame it answers (boot and seq found it), which only a reader of that frame has.
 */
export function echoMismatchV2(answer: Pick<AnswerV2, 'echo'>, sentCrc: number): string | null {
  return answer.echo === sentCrc ? null : `echoes checksum 0x${answer.echo.toString(16)}, the frame has 0x${sentCrc.toString(16)}`;
}
