// An Arduino Uno running StandardFirmata, behind @serialport/binding-mock: it announces
// itself when its port opens (as a real Uno does after the reset that opening causes),
// answers the capability and analog-mapping queries, records what the host writes to its
// pins, sends analog and digital readings, and can be unplugged and plugged back.
import { MockBinding, MockPortBinding } from '@serialport/binding-mock';
import type { BindingInterface, OpenOptions } from '@serialport/bindings-interface';

const MODE = { INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4, I2C: 6, PULLUP: 11 } as const;
const PWM_PINS = [3, 5, 6, 9, 10, 11];
const PIN_COUNT = 20; // D0–D13, A0–A5 as 14–19

export type PinWrite =
  | { kind: 'mode'; pin: number; mode: number }
  | { kind: 'digital'; pin: number; value: 0 | 1 }
  | { kind: 'analog'; pin: number; value: number };

export { MODE as FIRMATA_MODE };

export class FakeArduino {
  readonly writes: PinWrite[] = [];
  readonly modes = new Map<number, number>();
  readonly outputs = new Map<number, number>();
  readonly reportingAnalog = new Set<number>();
  /** Digital ports (8 pins each) whose changes the host asked to hear about. */
  readonly reportingPorts = new Set<number>();
  /** Pulse range per servo pin from SERVO_CONFIG (StandardFirmata's default is 544–2400 µs). */
  readonly servoRanges = new Map<number, [number, number]>();
  /** Opens of the port that the host made (reconnections show up here). */
  opens = 0;
  port: MockPortBinding | null = null;
  private plugged = true;
  private inputBits = new Array<number>(3).fill(0);
  private parse: number[] = [];
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  /** A binding whose ports are MockBinding's, with this board on the far end of `path`. */
  readonly binding: BindingInterface;

  constructor(readonly path = '/dev/ttyACM-fake') {
    MockBinding.createPort(path, { echo: false, record: true });
    this.binding = {
      list: () => MockBinding.list(),
      open: async (options: OpenOptions) => {
        if (options.path === this.path && !this.plugged) {
          throw Object.assign(new Error(`Error: No such file or directory, cannot open ${options.path}`), { code: 'ENOENT' });
        }
        const port = await MockBinding.open(options);
        if (options.path === this.path) this.attach(port);
        return port;
      },
    };
  }

  /** The USB cable comes out: the open port fails its next read, and opening fails. */
  unplug(): void {
    this.plugged = false;
    const port = this.port;
    if (!port?.isOpen) return;
    port.read = async () => { throw Object.assign(new Error('Input/output error'), { code: 'EIO' }); };
    port.emitData(Buffer.alloc(0)); // wakes the read that is waiting for data, so it fails now
  }

  plugIn(): void {
    this.plugged = true;
  }

  /** An analog reading on channel `ch` (A0 = 0), 0..1023, as StandardFirmata reports it. */
  analog(ch: number, value: number): void {
    this.send([0xe0 | ch, value & 0x7f, (value >> 7) & 0x7f]);
  }

  /** Drives an input pin (a button or a PIR output) and reports its port. */
  digital(pin: number, value: 0 | 1): void {
    const port = pin >> 3;
    if (value) this.inputBits[port] |= 1 << (pin & 7);
    else this.inputBits[port] &= ~(1 << (pin & 7));
    this.reportPort(port);
  }

  private reportPort(port: number): void {
    const bits = this.inputBits[port];
    this.send([0x90 | port, bits & 0x7f, (bits >> 7) & 0x01]);
  }

  /** The angle a servo on `pin` was last sent to (a write ≥ 544 is a pulse width in µs, as in Arduino's Servo). */
  servoAngle(pin: number): number | undefined {
    const v = this.outputs.get(pin);
    if (v === undefined || v < 544) return v;
    const [min, max] = this.servoRanges.get(pin) ?? [544, 2400];
    return Math.round(((v - min) / (max - min)) * 180);
  }

  /** Resolves once `test` holds over what the host has written (checked on every write). */
  until(test: () => boolean, timeoutMs = 5000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake Arduino: condition not met in ${timeoutMs} ms; writes: ${JSON.stringify(this.writes.slice(-20))}`)), timeoutMs);
      this.waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  private attach(port: MockPortBinding): void {
    this.port = port;
    this.opens++;
    this.parse = [];
    // StandardFirmata's reset: digital pins are outputs, A0–A5 analog, nothing reported.
    this.modes.clear();
    for (let pin = 2; pin < PIN_COUNT; pin++) this.modes.set(pin, pin >= 14 ? MODE.ANALOG : MODE.OUTPUT);
    this.reportingAnalog.clear();
    this.reportingPorts.clear();
    const write = port.write.bind(port);
    port.write = async (buffer: Buffer) => {
      await write(buffer);
      for (const byte of buffer) this.receive(byte);
    };
    // StandardFirmata's greeting after the reset: its protocol version and firmware name.
    setTimeout(() => {
      if (port.isOpen) this.send([0xf9, 2, 5, ...sysex(0x79, [2, 5, ...sevenBit('StandardFirmata.ino')])]);
    }, 20);
  }

  private send(bytes: number[]): void {
    if (this.port?.isOpen) this.port.emitData(Buffer.from(bytes));
  }

  private receive(byte: number): void {
    const msg = this.parse;
    if (byte & 0x80 && msg[0] !== 0xf0) msg.length = 0; // a command byte starts a message
    msg.push(byte);
    this.handle(msg);
    if (!msg.length) this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
  }

  /** Acts on `msg` once it is complete, and empties it. */
  private handle(msg: number[]): void {
    const byte = msg[msg.length - 1];
    const cmd = msg[0];
    if (cmd === 0xf0) {
      if (byte === 0xf7) { this.sysexIn(msg.slice(1, -1)); msg.length = 0; }
      return;
    }
    if (cmd === 0xff) { msg.length = 0; return; }
    if (cmd === 0xf9) { this.send([0xf9, 2, 5]); msg.length = 0; return; } // REPORT_VERSION query
    const high = cmd & 0xf0;
    const size = high === 0xc0 || high === 0xd0 ? 2 : 3;
    if (msg.length < size) return;
    if (high === 0x90) this.portWrite(cmd & 0x0f, msg[1] | (msg[2] << 7));
    else if (high === 0xe0) this.record({ kind: 'analog', pin: cmd & 0x0f, value: msg[1] | (msg[2] << 7) });
    else if (high === 0xd0) { if (msg[1]) { this.reportingPorts.add(cmd & 0x0f); this.reportPort(cmd & 0x0f); } else this.reportingPorts.delete(cmd & 0x0f); } // StandardFirmata answers with the port's state
    else if (high === 0xc0) { if (msg[1]) this.reportingAnalog.add(cmd & 0x0f); else this.reportingAnalog.delete(cmd & 0x0f); }
    else if (cmd === 0xf4) { this.modes.set(msg[1], msg[2]); this.record({ kind: 'mode', pin: msg[1], mode: msg[2] }); }
    else if (cmd === 0xf5) this.digitalOut(msg[1], msg[2] ? 1 : 0);
    msg.length = 0;
  }

  private sysexIn(body: number[]): void {
    const [command, ...data] = body;
    if (command === 0x79) this.send(sysex(0x79, [2, 5, ...sevenBit('StandardFirmata.ino')]));
    else if (command === 0x6b) this.send(sysex(0x6c, capabilities()));
    else if (command === 0x69) this.send(sysex(0x6a, Array.from({ length: PIN_COUNT }, (_, pin) => (pin >= 14 ? pin - 14 : 0x7f))));
    else if (command === 0x70) { // SERVO_CONFIG: the firmware attaches the servo and puts the pin in servo mode
      this.servoRanges.set(data[0], [data[1] | (data[2] << 7), data[3] | (data[4] << 7)]);
      this.modes.set(data[0], MODE.SERVO);
    }
    else if (command === 0x6f) this.record({ kind: 'analog', pin: data[0], value: data.slice(1).reduce((v, b, i) => v | (b << (7 * i)), 0) });
  }

  private portWrite(port: number, bits: number): void {
    for (let bit = 0; bit < 8; bit++) {
      const pin = port * 8 + bit;
      if (this.modes.get(pin) === MODE.OUTPUT) this.digitalOut(pin, (bits >> bit) & 1 ? 1 : 0);
    }
  }

  private digitalOut(pin: number, value: 0 | 1): void {
    if (this.outputs.get(pin) === value) return;
    this.record({ kind: 'digital', pin, value });
  }

  private record(write: PinWrite): void {
    if (write.kind !== 'mode') this.outputs.set(write.pin, write.value);
    this.writes.push(write);
  }
}

function sysex(command: number, data: number[]): number[] {
  return [0xf0, command, ...data, 0xf7];
}

function sevenBit(text: string): number[] {
  return [...Buffer.from(text)].flatMap((b) => [b & 0x7f, (b >> 7) & 0x7f]);
}

/** What an Uno's StandardFirmata reports: digital I/O on D2–D19, PWM, servo, analog on A0–A5. */
function capabilities(): number[] {
  const out: number[] = [];
  for (let pin = 0; pin < PIN_COUNT; pin++) {
    if (pin >= 2) out.push(MODE.INPUT, 1, MODE.OUTPUT, 1, MODE.PULLUP, 1, MODE.SERVO, 14);
    if (PWM_PINS.includes(pin)) out.push(MODE.PWM, 8);
    if (pin >= 14) out.push(MODE.ANALOG, 10);
    if (pin === 18 || pin === 19) out.push(MODE.I2C, 1);
    out.push(0x7f);
  }
  return out;
}
