// What an edge link takes (EdgeLink.open) and reports (EdgeLink.stats()).
import type { OutboxOptions } from './outbox';
import type { LinkSettings } from './connect';
import type { AnswerReader } from './wire-context';

export interface EdgeLinkOptions {
  settings: LinkSettings;
  gateway: string;
  outbox?: OutboxOptions;
  /** Frames published and not yet answered, at most. */
  window?: number;
  resendAfterMs?: number;
  /** Messages published and not yet acknowledged by the broker, at most (default 2). */
  publishWindow?: number;
  /** Frames per message at most (default 64; 1 = never batch). */
  maxBatch?: number;
  /** Frame bytes per message at most (default 16 KiB; a larger frame still goes alone). */
  maxBatchBytes?: number;
  software?: string;
  /** How often a link whose settings cannot be read yet tries again (ms). */
  retryMs?: number;
  /** How long a frame may wait for others to share its message (ms; default 0 = at once; split-link's default is DEFAULT_COALESCE_MS). */
  coalesceMs?: number;
  /** Reads a compact (v2) answer into the body mqtt-transmit emits; default: the loaded bundle's task. */
  readAnswer?: AnswerReader;
}

/** split-link's coalescing budget unless set (ms): the README's byte table measures 0, 1000 and 3000. */
export const DEFAULT_COALESCE_MS = 1000;

export interface EdgeLinkStats {
  state: 'connecting' | 'connected' | 'disconnected' | 'closed';
  pending: number; inflight: number; published: number; messages: number; resent: number; answered: number;
  duplicates: number; dropped: number;
  /** Answers that did not parse, and answers that did not echo their frame (refused; the frame stays pending). */
  malformedAnswers: number; refusedAnswers: number;
  rttMsP50: number | null; rttMsP95: number | null;
  /** Accept → answer (the wait in the outbox included, the coalescing wait not: that is a choice, not a slow link), what a latency target is about. */
  latencyMsP50: number | null; latencyMsP95: number | null;
  /** How long the oldest pending frame has waited beyond the coalescing budget; null when nothing is pending. */
  oldestPendingMs: number | null;
  ackedBytesPerSec: number; lastError: string | null; durable: boolean;
  /** Bytes of the frames published (v1 or v2 as sent), and TCP bytes written/read on the socket (all connections). */
  frameBytesSent: number; linkBytesSent: number; linkBytesReceived: number;
  /** Frames sent at QoS 0 and at QoS 1 (before an answer confirmed the topic, or after a frame went unanswered). */
  qos0: number; qos1: number; wire: 1 | 2;
}
