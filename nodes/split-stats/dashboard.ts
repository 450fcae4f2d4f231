// The fleet summary as messages for Dashboard 2.0 widgets: one output per chart (series =
// msg.topic = gateway), a table with one row per gateway, and the current controls.
import type { NodeMessage } from 'node-red';
import type { GatewaySummary } from '../../lib/metrics';
import type { RateLevel } from '../../lib/model';

export const OUTPUT_LABELS = [
  'frames/s per gateway (chart)', 'exit ratio % (chart)', 'frame bytes per transmitted frame (chart)',
  'latency p50/p95 ms (chart)', 'accuracy % (chart)', 'outbox depth (chart)',
  'fleet table (table; msg.fleet: one line of text)', 'exit threshold (slider)', 'rate level (dropdown)',
  'exit audit: audited disagreement and its upper bound against epsilon, % (chart)',
];
/** Where the rate dropdown's options go (the audit chart came after it, so older wiring keeps its outputs). */
export const RATE_OUTPUT = 8;

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const pct = (v: number | null) => (v === null ? null : round(100 * v, 1));
const ms = (v: number | null) => (v === null ? null : round(v, 1));

type Series = (r: GatewaySummary) => Array<[string, number | null]>;

const CHARTS: Series[] = [
  (r) => [[r.gateway, round(r.fps, 2)]],
  (r) => [[r.gateway, pct(r.exitRatio)]],
  (r) => [[r.gateway, r.bytesPerFrame === null ? null : round(r.bytesPerFrame, 1)]],
  (r) => [[`${r.gateway} p50`, ms(r.latencyP50Ms)], [`${r.gateway} p95`, ms(r.latencyP95Ms)]],
  (r) => [[r.gateway, pct(r.accuracy)], [`${r.gateway} agreement`, pct(r.agreement)]],
  (r) => [[r.gateway, r.outbox]],
];

// The promise over time: what the audits measured, the bound the gate acts on, and epsilon.
const AUDIT_CHART: Series = (r) => (r.audit ? [[`${r.gateway} audited`, pct(r.audit.disagreement)], [`${r.gateway} bound`, pct(r.audit.upper)], [`${r.gateway} epsilon`, pct(r.audit.epsilon)]] : []);

const messages = (rows: GatewaySummary[], series: Series): NodeMessage[] => rows.flatMap((r) => series(r)
  .filter(([, v]) => v !== null)
  .map(([topic, payload]) => ({ topic, payload })));

/** One array of messages per chart output; figures not known for a gateway are left out. */
export function chartMessages(rows: GatewaySummary[]): NodeMessage[][] {
  return CHARTS.map((series) => messages(rows, series));
}

export const auditChartMessages = (rows: GatewaySummary[]): NodeMessage[] => messages(rows, AUDIT_CHART);

const text = (v: number | string | null) => (v === null ? '–' : v);
const rateText = (r: GatewaySummary) => (r.rateLevel === null ? '–' : `${r.rateAuto ? 'auto ' : ''}${r.rateLevel}`);

export function tableMessage(rows: GatewaySummary[], windowSec: number): NodeMessage {
  const payload = rows.map((r) => ({
    gateway: r.gateway,
    link: text(r.link),
    'frames/s': round(r.fps, 1),
    'exit %': text(pct(r.exitRatio)),
    // Per forwarded frame: payload (coded symbols), frame (wire frame), link (socket bytes both ways, everything included).
    'payload B': text(r.payloadBytesPerFrame === null ? null : round(r.payloadBytesPerFrame, 1)),
    'frame B': text(r.bytesPerFrame === null ? null : round(r.bytesPerFrame, 1)),
    'link B': text(r.linkBytesPerFrame === null ? null : round(r.linkBytesPerFrame, 1)),
    'p50 ms': text(ms(r.latencyP50Ms)),
    'p95 ms': text(ms(r.latencyP95Ms)),
    'accuracy %': text(pct(r.accuracy)),
    'agreement %': text(pct(r.agreement)),
    task: text(r.task),
    'objects/answer': text(r.objectsPerAnswer === null ? null : round(r.objectsPerAnswer, 2)),
    'labels/answer': text(r.labelsPerAnswer === null ? null : round(r.labelsPerAnswer, 2)),
    outbox: text(r.outbox),
    rate: rateText(r),
    threshold: text(r.threshold === null ? null : round(r.threshold, 3)),
    gaps: r.gaps,
    dups: r.duplicates,
    errors: r.errors,
    refused: r.refused,
    shed: r.shed,
    'audit %': text(r.audit ? `${text(pct(r.audit.disagreement))} ≤ ${pct(r.audit.upper)} (ε ${pct(r.audit.epsilon)}, ${r.audit.state})` : null),
  }));
  const live = rows.filter((r) => r.link === 'connected' || r.link === 'live').length;
  const fps = rows.reduce((n, r) => n + r.fps, 0);
  const fleet = `${rows.length} gateway${rows.length === 1 ? '' : 's'}, ${live} connected, ${round(fps, 1)} frames/s over the last ${windowSec} s`;
  return { payload, fleet };
}

/** Options for the rate dropdown, with what the manifest measured for each level. */
export function rateOptions(rates: RateLevel[]): Array<{ label: string; value: string | number; type: string }> {
  return [{ label: 'auto (follows the link)', value: 'auto', type: 'str' }, ...rates.map((r, i) => {
    const bytes = r.measured?.codedBytes ?? r.measured?.idealBytes;
    const acc = r.measured?.accuracy;
    const facts = [bytes !== undefined ? `${round(bytes, 1)} B payload` : null, acc !== undefined ? `${round(100 * acc, 1)}%` : null].filter(Boolean);
    return { label: `${i}${facts.length ? ` · ${facts.join(' · ')}` : ''}`, value: i, type: 'num' };
  })];
}
