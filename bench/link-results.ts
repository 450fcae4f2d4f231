// Results at the gateway, one `BENCH {json}` line per second of answers, as the link
// bench's gateways print them: the Node-RED edge flow (a function node with RESULT_FUNCTION
// as its code) and the offload client (ResultSeconds) write the same shape, and
// collectResults reads it back from either's output.

export interface ResultSecond {
  /** Wall clock of the first answer counted in this line (ms). */
  t: number;
  /** Capture → answer latency of each answer (ms). */
  lat: number[];
  /** The same for the answers from the cloud only: what the rate level acts on. */
  cl?: number[];
  /** Answers per source: "edge" (early exit) or "cloud". */
  src: Record<string, number>;
  /** Answers whose label was known, and of those the correct ones. */
  lab: number;
  ok: number;
  /** Cloud answers per rate level. */
  rate: Record<string, number>;
}

export interface Answer { latencyMs: number; source: string; correct?: boolean; rate?: number }

export class ResultSeconds {
  private cur: ResultSecond | null = null;
  constructor(private readonly print: (line: string) => void) {}

  add(a: Answer, now = Date.now()): void {
    const b = (this.cur ??= { t: now, lat: [], cl: [], src: {}, lab: 0, ok: 0, rate: {} });
    b.lat.push(Math.round(a.latencyMs));
    if (a.source === 'cloud') b.cl!.push(Math.round(a.latencyMs));
    b.src[a.source] = (b.src[a.source] ?? 0) + 1;
    if (a.correct !== undefined) { b.lab++; if (a.correct) b.ok++; }
    if (a.rate !== undefined) b.rate[a.rate] = (b.rate[a.rate] ?? 0) + 1;
    if (now - b.t >= 1000) this.flush();
  }

  flush(): void {
    if (this.cur) this.print(`BENCH ${JSON.stringify(this.cur)}`);
    this.cur = null;
  }
}

/**
 * The same accumulator as code for a Node-RED function node at the end of the edge flow,
 * where both early exits and cloud answers arrive (a function node cannot import modules).
 */
export const RESULT_FUNCTION = `
const now = Date.now();
const p = msg.payload || {};
const b = context.get('b') || { t: now, lat: [], cl: [], src: {}, lab: 0, ok: 0, rate: {} };
const ms = Math.round(typeof msg.latencyMs === 'number' ? msg.latencyMs : now - msg.capturedAt);
b.lat.push(ms);
if (p.source === 'cloud') b.cl.push(ms);
b.src[p.source] = (b.src[p.source] || 0) + 1;
if (msg.label !== undefined) { b.lab++; if (p.index === msg.label) b.ok++; }
if (msg.frame && msg.frame.rate !== undefined) b.rate[msg.frame.rate] = (b.rate[msg.frame.rate] || 0) + 1;
if (now - b.t >= 1000) { node.log('BENCH ' + JSON.stringify(b)); context.set('b', null); } else context.set('b', b);
return null;
`;

/** Collects the BENCH lines of a process's output as they arrive. */
export class ResultCollector {
  readonly seconds: ResultSecond[] = [];
  private buf = '';

  feed(chunk: string): void {
    this.buf += chunk;
    const lines = this.buf.split('\n');
    this.buf = lines.pop() ?? '';
    for (const line of lines) {
      const at = line.indexOf('BENCH {');
      if (at >= 0) this.seconds.push(JSON.parse(line.slice(at + 6)) as ResultSecond);
    }
  }

  get answered(): number {
    return this.seconds.reduce((n, s) => n + s.lat.length, 0);
  }
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);

/** Figures over the answers that arrived in [from, to) (wall clock ms). */
export function summarizeSeconds(seconds: ResultSecond[], from: number, to: number) {
  const part = seconds.filter((s) => s.t >= from && s.t < to);
  const lat = part.flatMap((s) => s.lat).sort((a, b) => a - b);
  const cloudLat = part.flatMap((s) => s.cl ?? []).sort((a, b) => a - b);
  const sum = (pick: (s: ResultSecond) => number) => part.reduce((n, s) => n + pick(s), 0);
  const src: Record<string, number> = {};
  const rate: Record<string, number> = {};
  for (const s of part) {
    for (const [k, v] of Object.entries(s.src)) src[k] = (src[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.rate)) rate[k] = (rate[k] ?? 0) + v;
  }
  const labelled = sum((s) => s.lab);
  return {
    answers: lat.length,
    fps: lat.length / ((to - from) / 1000),
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    // Most answers are early exits of a few ms; the cloud's own quantiles show the link.
    cloudP50Ms: quantile(cloudLat, 0.5),
    cloudP95Ms: quantile(cloudLat, 0.95),
    accuracy: labelled ? sum((s) => s.ok) / labelled : null,
    bySource: src,
    byRate: rate,
  };
}
