// Sensor sources on a BoardConnection: analog readings (one value per pin, or windows of
// samples such as an analog IMU's axes), and a digital trigger (a PIR's output or a
// button) that starts a capture. Both survive reconnections: their johnny-five components
// are rebuilt on every new Board.
import { EventEmitter } from 'node:events';
import type * as five from 'johnny-five';
import { johnnyFive } from './optional';
import { unregister, type BoardConnection } from './board';

/** "A0", "a3", "14" or 14 → what johnny-five takes as a pin. */
export function parsePin(pin: string | number): string | number {
  if (typeof pin === 'number') return checkPin(pin, String(pin));
  const text = pin.trim();
  if (/^[aA]\d{1,2}$/.test(text)) return text.toUpperCase();
  if (/^\d{1,3}$/.test(text)) return checkPin(Number(text), text);
  throw new Error(`pin "${pin}" is neither a digital pin number (2, 13) nor an analog pin (A0)`);
}

function checkPin(n: number, text: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 127) throw new Error(`pin ${text} is out of range 0–127`);
  return n;
}

/** "A0, A1,A2" → ["A0", "A1", "A2"]. */
export function parsePins(list: string): Array<string | number> {
  const pins = list.split(/[\s,]+/).filter(Boolean).map(parsePin);
  if (!pins.length) throw new Error('no pins given');
  if (new Set(pins.map(String)).size !== pins.length) throw new Error(`pins "${list}" name one pin twice`);
  return pins;
}

// The parts of johnny-five components that its @types leave out.
type J5Sensor = five.Sensor & { disable(): void };
type TriggerIo = EventEmitter & {
  analogPins: number[];
  MODES: { INPUT: number; PULLUP: number };
  pinMode(pin: number, mode: number): void;
  digitalRead(pin: number, cb: (value: number) => void): void;
};

export interface AnalogReading {
  /** One raw value (0..1023 on an Uno) per pin, in the order the pins were given. */
  values: number[];
  pins: Array<string | number>;
  at: number;
}

export interface AnalogWindow {
  /** Channel-major: all samples of the first pin, then the next (shape [pins, samples]). */
  data: Float32Array;
  shape: [number, number];
  pins: Array<string | number>;
  startedAt: number;
  at: number;
}

export interface AnalogSamplerOptions {
  pins: Array<string | number>;
  /** Time between samples. */
  periodMs: number;
  /** Samples per window; 1 = every sample is its own reading. */
  window?: number;
  /** Windows overlap by this many samples (0 = back to back). */
  overlap?: number;
}

/**
 * Samples analog pins on one clock (johnny-five's Sensor keeps a timer per pin; these are
 * built disabled and read together, so the channels of a window line up).
 * Emits 'reading' (AnalogReading) or, with a window, 'window' (AnalogWindow).
 */
export class AnalogSampler extends EventEmitter {
  samples = 0;
  private sensors: J5Sensor[] = [];
  private timer: NodeJS.Timeout | null = null;
  private buffer: number[][] = [];
  private startedAt = 0;
  private readonly remove: () => void;

  constructor(private readonly connection: BoardConnection, private readonly opts: AnalogSamplerOptions) {
    super();
    const window = opts.window ?? 1;
    if (!Number.isInteger(window) || window < 1 || window > 65536) throw new Error(`window must be 1..65536 samples, got ${opts.window}`);
    const overlap = opts.overlap ?? 0;
    if (!Number.isInteger(overlap) || overlap < 0 || overlap >= window) throw new Error(`overlap must be 0..${window - 1} samples, got ${opts.overlap}`);
    if (!(opts.periodMs >= 1)) throw new Error(`sample period must be at least 1 ms, got ${opts.periodMs}`);
    this.remove = connection.use((board) => {
      this.sensors = opts.pins.map((pin) => new (johnnyFive().Sensor)({ board, pin, enabled: false }) as J5Sensor);
      this.buffer = [];
      this.timer = setInterval(() => this.sample(), opts.periodMs);
      return () => {
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        for (const s of this.sensors) s.disable();
        unregister(board, ...this.sensors);
        this.sensors = [];
      };
    });
  }

  private sample(): void {
    const values = this.sensors.map((s) => s.raw);
    this.samples++;
    const at = Date.now();
    const window = this.opts.window ?? 1;
    if (window === 1) {
      this.emit('reading', { values, pins: this.opts.pins, at } satisfies AnalogReading);
      return;
    }
    if (!this.buffer.length) this.startedAt = at;
    this.buffer.push(values);
    if (this.buffer.length < window) return;
    const channels = this.opts.pins.length;
    const data = new Float32Array(channels * window);
    this.buffer.forEach((row, t) => row.forEach((v, c) => { data[c * window + t] = v; }));
    this.emit('window', { data, shape: [channels, window], pins: this.opts.pins, startedAt: this.startedAt, at } satisfies AnalogWindow);
    this.buffer = this.buffer.slice(window - (this.opts.overlap ?? 0));
    this.startedAt = at;
  }

  close(): void {
    this.remove();
    this.removeAllListeners();
  }
}

export type TriggerEdge = 'rising' | 'falling' | 'both';

export interface DigitalTriggerOptions {
  pin: string | number;
  /** rising: a PIR sees motion, a button to ground with pull-up is pressed (with invert). */
  edge?: TriggerEdge;
  /** Enable the board's pull-up (a button wired to ground). */
  pullup?: boolean;
  /** Swap what counts as active (for pull-up wiring, where pressed reads 0). */
  invert?: boolean;
  /** Ignore further edges for this long after one fired (contact bounce, PIR retrigger). */
  debounceMs?: number;
}

export interface TriggerEvent { pin: string | number; active: boolean; at: number; count: number }

/** A digital input that emits 'trigger' (TriggerEvent) on the chosen edge. */
export class DigitalTrigger extends EventEmitter {
  count = 0;
  private last = 0;
  private readonly remove: () => void;

  constructor(connection: BoardConnection, private readonly opts: DigitalTriggerOptions) {
    super();
    const edge = opts.edge ?? 'rising';
    if (!['rising', 'falling', 'both'].includes(edge)) throw new Error(`edge must be rising, falling or both, got ${edge}`);
    this.remove = connection.use((board) => {
      // Straight on the IO plugin rather than through johnny-five's Button or Motion: both
      // keep timers of their own (hold, polling) that nothing can stop.
      const io = board.io as TriggerIo;
      const pin = typeof opts.pin === 'string' && /^A\d+$/.test(opts.pin) ? io.analogPins[Number(opts.pin.slice(1))] : Number(opts.pin);
      if (!Number.isInteger(pin)) throw new Error(`pin ${opts.pin} is not on this board`);
      let last: number | null = null;
      const onRead = (value: number) => {
        if (value === last) return;
        const first = last === null;
        last = value;
        if (!first) this.edge(opts.invert ? !value : !!value);
      };
      io.pinMode(pin, opts.pullup ? io.MODES.PULLUP : io.MODES.INPUT);
      io.digitalRead(pin, onRead);
      // firmata-io (and mock-firmata) deliver readings as 'digital-read-<pin>' events.
      return () => { io.removeListener(`digital-read-${pin}`, onRead); };
    });
  }

  private edge(active: boolean): void {
    const edge = this.opts.edge ?? 'rising';
    if (edge === 'rising' && !active) return;
    if (edge === 'falling' && active) return;
    const now = Date.now();
    if (this.count && now - this.last < (this.opts.debounceMs ?? 0)) return;
    this.last = now;
    this.count++;
    this.emit('trigger', { pin: this.opts.pin, active, at: now, count: this.count } satisfies TriggerEvent);
  }

  close(): void {
    this.remove();
    this.removeAllListeners();
  }
}
