// AuditLedger: the audits in flight, each with the answer the gateway already gave, so the
// cloud's answer is compared with the right one. Bounded: the oldest entries go first, and
// entries older than the timeout are dropped uncounted (no answer is no evidence).

export interface PendingAudit { index: number; confidence: number; sentAt: number }

export class AuditLedger {
  private readonly pending = new Map<number, PendingAudit>();
  private nextId = 1;
  expired = 0;

  constructor(readonly capacity = 1024, readonly timeoutMs = 60_000) {}

  get size(): number { return this.pending.size; }

  /** Records an audit and returns its id. */
  open(index: number, confidence: number, now = Date.now()): number {
    this.expire(now);
    while (this.pending.size >= this.capacity) {
      this.pending.delete(this.pending.keys().next().value as number);
      this.expired++;
    }
    const id = this.nextId++;
    this.pending.set(id, { index, confidence, sentAt: now });
    return id;
  }

  /** The audit an answer closes, or undefined when it is unknown, answered already or expired. */
  close(id: number): PendingAudit | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  /** True when audits are outstanding and the oldest has waited longer than the timeout: the link is not answering. */
  stalled(now = Date.now()): boolean {
    const first = this.pending.values().next().value as PendingAudit | undefined;
    return first !== undefined && now - first.sentAt > this.timeoutMs / 4;
  }

  private expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (now - p.sentAt <= this.timeoutMs) break;
      this.pending.delete(id);
      this.expired++;
    }
  }
}

/**
 * Process-wide routes from the link back to the gate that opened an audit: the answer
 * arrives at mqtt-transmit, which knows only the frame; the gate is found by its node id.
 */
export interface AuditAnswer { id: number; index: number | null; error?: string }
type Sink = (a: AuditAnswer) => void;
const sinks = new Map<string, Sink>();

export const auditRoutes = {
  attach(gate: string, sink: Sink): void { sinks.set(gate, sink); },
  detach(gate: string, sink: Sink): void { if (sinks.get(gate) === sink) sinks.delete(gate); },
  deliver(gate: string, answer: AuditAnswer): boolean {
    const s = sinks.get(gate);
    if (!s) return false;
    s(answer);
    return true;
  },
};

/** msg.audit as the gate set it, or null: what encode and the link need to route an audit. */
export interface AuditTag { gate: string; id: number; copy: boolean }
export function auditTag(v: unknown): AuditTag | null {
  const a = v as Partial<AuditTag> | null | undefined;
  return a && typeof a.gate === 'string' && typeof a.id === 'number' ? { gate: a.gate, id: a.id, copy: a.copy === true } : null;
}
