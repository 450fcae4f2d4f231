// Actuators driven by a classification result: an LED, a relay or a servo. What a result
// does to the output is a pure function of the mapping (tested without a board); the
// Actuator applies it through johnny-five and re-applies the last state after a reconnect.
import type * as five from 'johnny-five';
import { johnnyFive } from './optional';
import { unregister, type BoardConnection } from './board';

export type ActuatorKind = 'led' | 'relay' | 'servo';

/** A classification as early-exit-gate and mqtt-transmit emit it in msg.payload. */
export interface ClassResult { label: string; index?: number; confidence: number }

export interface ActuatorMapping {
  kind: ActuatorKind;
  pin: string | number;
  /** Labels (or class indexes as text) that switch the output on; empty = any label. */
  labels: string[];
  /** Below this confidence a result counts as "no match" (output off / rest angle). */
  minConfidence: number;
  /** on-off: on while a listed label is seen. confidence: LED brightness or servo angle follows the confidence. */
  drive: 'on-off' | 'confidence';
  /** Relay wired normally closed: on = coil released. */
  normallyClosed?: boolean;
  /** Servo angles for "off" and "on"/full confidence. */
  angleRange?: [number, number];
  /** Servo: a fixed angle per label, overriding the range (e.g. sorting gates). */
  labelAngles?: Record<string, number>;
}

export type ActuatorCommand =
  | { kind: 'led'; on: boolean; brightness: number }
  | { kind: 'relay'; on: boolean }
  | { kind: 'servo'; angle: number };

export function isClassResult(v: unknown): v is ClassResult {
  const r = v as ClassResult;
  return !!r && typeof r === 'object' && typeof r.label === 'string' && typeof r.confidence === 'number' && r.confidence >= 0 && r.confidence <= 1;
}

interface Found { label?: unknown; index?: unknown; probability?: unknown; score?: unknown }

/**
 * The class an answer of any task gives an actuator: a classification as it is; from a
 * multilabel or detection answer the best-scoring class found that the mapping lists (any,
 * when it lists none), so "relay on while a person is detected" works; nothing found is a
 * result of confidence 0 (output off, servo at rest). null: not an answer.
 */
export function classResultFor(mapping: ActuatorMapping, answer: unknown): ClassResult | null {
  if (isClassResult(answer)) return answer;
  const a = answer as { positive?: unknown; detections?: unknown } | null;
  const list = Array.isArray(a?.positive) ? a!.positive as Found[] : Array.isArray(a?.detections) ? a!.detections as Found[] : null;
  if (!list) return null;
  const found = list.map((f) => ({ label: String(f.label ?? f.index), index: typeof f.index === 'number' ? f.index : undefined, confidence: Number(f.probability ?? f.score) }))
    .filter((f) => f.confidence >= 0 && f.confidence <= 1 && (!mapping.labels.length || mapping.labels.some((l) => l === f.label || l === String(f.index))));
  return found.sort((x, y) => y.confidence - x.confidence)[0] ?? { label: '', confidence: 0 };
}

/** Whether the result names one of the mapping's labels (by name or class index). */
export function matches(mapping: ActuatorMapping, result: ClassResult): boolean {
  if (result.confidence < mapping.minConfidence) return false;
  if (!mapping.labels.length) return true;
  return mapping.labels.some((l) => l === result.label || (result.index !== undefined && l === String(result.index)));
}

/** What the output should do for one result. */
export function commandFor(mapping: ActuatorMapping, result: ClassResult): ActuatorCommand {
  const hit = matches(mapping, result);
  const level = hit && mapping.drive === 'confidence' ? result.confidence : hit ? 1 : 0;
  switch (mapping.kind) {
    case 'led':
      return { kind: 'led', on: hit, brightness: Math.round(255 * level) };
    case 'relay':
      return { kind: 'relay', on: hit };
    case 'servo': {
      const [rest, full] = mapping.angleRange ?? [0, 180];
      const fixed = hit ? mapping.labelAngles?.[result.label] : undefined;
      return { kind: 'servo', angle: Math.round(fixed ?? rest + (full - rest) * level) };
    }
  }
}

export function checkMapping(m: ActuatorMapping): void {
  if (!['led', 'relay', 'servo'].includes(m.kind)) throw new Error(`actuator kind must be led, relay or servo, got ${m.kind}`);
  if (!(m.minConfidence >= 0 && m.minConfidence <= 1)) throw new Error(`minimum confidence must be 0..1, got ${m.minConfidence}`);
  if (!['on-off', 'confidence'].includes(m.drive)) throw new Error(`drive must be on-off or confidence, got ${m.drive}`);
  for (const a of [...(m.angleRange ?? []), ...Object.values(m.labelAngles ?? {})]) {
    if (!(a >= 0 && a <= 180)) throw new Error(`servo angles must be 0..180, got ${a}`);
  }
}

type Output = { component: object; apply(cmd: ActuatorCommand): void; off(): void };

/** One output on the board; `apply` drives it now, or as soon as the board is back. */
export class Actuator {
  last: ActuatorCommand | null = null;
  private output: Output | null = null;
  private readonly remove: () => void;

  constructor(connection: BoardConnection, readonly mapping: ActuatorMapping) {
    checkMapping(mapping);
    this.remove = connection.use((board) => {
      const output = buildOutput(board, mapping);
      this.output = output;
      if (this.last) output.apply(this.last);
      return () => {
        if (this.output === output) this.output = null;
        unregister(board, output.component);
      };
    });
  }

  get connected(): boolean {
    return this.output !== null;
  }

  /** Drives the output for a result; returns what was done. */
  handle(result: ClassResult): ActuatorCommand {
    const cmd = commandFor(this.mapping, result);
    this.last = cmd;
    this.output?.apply(cmd);
    return cmd;
  }

  /** Leaves the output in its safe state (off, rest angle) and detaches. */
  close(): void {
    try { this.output?.off(); } catch { /* board already gone */ }
    this.output = null;
    this.remove();
  }
}

function buildOutput(board: five.Board, m: ActuatorMapping): Output {
  switch (m.kind) {
    case 'led': {
      const led = new (johnnyFive().Led)({ board, pin: m.pin } as five.LedOption);
      return {
        component: led,
        apply: (cmd) => {
          if (cmd.kind !== 'led') return;
          if (m.drive === 'confidence') led.brightness(cmd.brightness);
          else if (cmd.on) led.on();
          else led.off();
        },
        off: () => { led.stop(); led.off(); },
      };
    }
    case 'relay': {
      const relay = new (johnnyFive().Relay)({ board, pin: m.pin, type: m.normallyClosed ? 'NC' : 'NO' } as five.RelayOption);
      // johnny-five sets no pin mode for a digital relay pin; a pin left as an input ignores writes.
      board.io.pinMode((relay as unknown as { pin: number }).pin, board.io.MODES.OUTPUT);
      return {
        component: relay,
        apply: (cmd) => { if (cmd.kind === 'relay') (cmd.on ? relay.close() : relay.open()); },
        off: () => relay.open(),
      };
    }
    case 'servo': {
      // The pulse range is sent to the board (SERVO_CONFIG) so both ends map angles alike.
      const servo = new (johnnyFive().Servo)({ board, pin: m.pin, range: [0, 180], pwmRange: [600, 2400] } as five.ServoGeneralOption);
      const rest = (m.angleRange ?? [0, 180])[0];
      return {
        component: servo,
        apply: (cmd) => { if (cmd.kind === 'servo') servo.to(cmd.angle); },
        off: () => { servo.stop(); servo.to(rest); },
      };
    }
  }
}
