// What an edge link reports (EdgeLink.stats()).
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
