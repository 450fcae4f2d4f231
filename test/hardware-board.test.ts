// The board connection, sensors and actuators against hardware mocks only: a StandardFirmata
// Uno behind @serialport/binding-mock (real serialport, firmata-io and johnny-five on top),
// and mock-firmata as an injected IO plugin.
import { test, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MockBinding } from '@serialport/binding-mock';
import { Firmata as MockFirmata } from 'mock-firmata';
import { BoardConnection, BoardState, cachedBoardCount, IoPlugin } from '../hardware/board';
import { AnalogSampler, AnalogReading, AnalogWindow, DigitalTrigger, TriggerEvent, parsePins } from '../hardware/sensors';
import { Actuator, commandFor, classResultFor, ActuatorMapping } from '../hardware/actuators';
import { FakeArduino, FIRMATA_MODE } from './support/fake-arduino';

const open: BoardConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  MockBinding.reset();
});

function connect(fake: FakeArduino, reconnectMs = 50): BoardConnection {
  const c = new BoardConnection({ path: fake.path, binding: fake.binding, reconnectMs, readyTimeoutMs: 3000 });
  open.push(c);
  return c;
}

const states = (c: BoardConnection): BoardState[] => {
  const seen: BoardState[] = [];
  c.on('state', (s: BoardState) => seen.push(s));
  return seen;
};

const nextState = (c: BoardConnection, want: BoardState, timeoutMs = 5000) => new Promise<Error | undefined>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`state ${want} not reached; now ${c.state}`)), timeoutMs);
  const on = (s: BoardState, err?: Error) => { if (s === want) { clearTimeout(timer); c.off('state', on); resolve(err); } };
  c.on('state', on);
});

test('board: connects over a serial port through Firmata and reads the Uno\'s pins', async () => {
  const fake = new FakeArduino('/dev/ttyACM0');
  const before = cachedBoardCount();
  const c = connect(fake);
  const board = await c.ready();
  assert.equal(c.state, 'ready');
  assert.equal(fake.opens, 1);
  assert.equal((board.io as { firmware: { name: string } }).firmware.name, 'StandardFirmata.ino');
  assert.equal(Object.keys(board.pins).length, 20, 'the capability response of 20 pins reached johnny-five');
  assert.equal(cachedBoardCount(), before + 1);
});

test('board: a port that does not answer Firmata is reported and retried', async () => {
  MockBinding.createPort('/dev/ttyUSB-silent', { echo: false });
  const c = new BoardConnection({ path: '/dev/ttyUSB-silent', binding: MockBinding, reconnectMs: 30, readyTimeoutMs: 150 });
  open.push(c);
  const err = await nextState(c, 'lost');
  assert.match(String(err?.message), /no Firmata reply on \/dev\/ttyUSB-silent within 150 ms: is StandardFirmata flashed/);
  await nextState(c, 'lost'); // tried again by itself
});

test('sensors: analog readings and windows carry what the board sends', async () => {
  const fake = new FakeArduino();
  const c = connect(fake);
  await c.ready();
  const single = new AnalogSampler(c, { pins: parsePins('A0'), periodMs: 10 });
  const windowed = new AnalogSampler(c, { pins: parsePins('A1, A2'), periodMs: 5, window: 4 });
  await fake.until(() => fake.reportingAnalog.has(0) && fake.reportingAnalog.has(2));
  fake.analog(0, 812);
  fake.analog(1, 100);
  fake.analog(2, 1023);
  const reading = await waitFor<AnalogReading>(single, 'reading', (r) => r.values[0] === 812);
  assert.deepEqual(reading.pins, ['A0']);
  const win = await waitFor<AnalogWindow>(windowed, 'window', (w) => w.data.every((v, i) => v === (i < 4 ? 100 : 1023)));
  assert.deepEqual(win.shape, [2, 4]);
  single.close();
  windowed.close();
});

test('sensors: a digital trigger fires on the rising edge only, debounced', async () => {
  const fake = new FakeArduino();
  const c = connect(fake);
  await c.ready();
  const trigger = new DigitalTrigger(c, { pin: 2, edge: 'rising', debounceMs: 200 });
  await fake.until(() => fake.modes.get(2) === FIRMATA_MODE.INPUT && fake.reportingPorts.has(0));
  await sleep(20); // the port's first report (pin low) reaches the host: the state to start from
  const fired: TriggerEvent[] = [];
  trigger.on('trigger', (t: TriggerEvent) => fired.push(t));
  fake.digital(2, 1);
  await waitFor(trigger, 'trigger');
  fake.digital(2, 0);
  fake.digital(2, 1); // bounce inside the debounce time
  await sleep(50);
  assert.equal(fired.length, 1);
  assert.equal(fired[0].active, true);
  assert.equal(fired[0].pin, 2);
  trigger.close();
});

test('actuators: results drive an LED, a relay and a servo as mapped', async () => {
  const fake = new FakeArduino();
  const c = connect(fake);
  await c.ready();
  const led = new Actuator(c, { kind: 'led', pin: 13, labels: ['Sneaker'], minConfidence: 0.5, drive: 'on-off' });
  const dimmer = new Actuator(c, { kind: 'led', pin: 9, labels: [], minConfidence: 0, drive: 'confidence' });
  const relay = new Actuator(c, { kind: 'relay', pin: 7, labels: ['3'], minConfidence: 0.8, drive: 'on-off' });
  const servo = new Actuator(c, { kind: 'servo', pin: 10, labels: ['Bag'], minConfidence: 0, drive: 'confidence', angleRange: [20, 160] });
  await fake.until(() => fake.modes.get(13) === FIRMATA_MODE.OUTPUT && fake.modes.get(7) === FIRMATA_MODE.OUTPUT);

  led.handle({ label: 'Sneaker', index: 7, confidence: 0.9 });
  await fake.until(() => fake.outputs.get(13) === 1);
  led.handle({ label: 'Sneaker', index: 7, confidence: 0.3 }); // below the minimum: off
  await fake.until(() => fake.outputs.get(13) === 0);

  dimmer.handle({ label: 'Coat', confidence: 0.5 });
  await fake.until(() => fake.outputs.get(9) === 128);
  assert.equal(fake.modes.get(9), FIRMATA_MODE.PWM);

  relay.handle({ label: 'Dress', index: 3, confidence: 0.95 }); // matched by class index
  await fake.until(() => fake.outputs.get(7) === 1);
  relay.handle({ label: 'Dress', index: 3, confidence: 0.7 });
  await fake.until(() => fake.outputs.get(7) === 0);

  servo.handle({ label: 'Bag', confidence: 0.5 });
  await fake.until(() => fake.servoAngle(10) === 90);
  assert.equal(fake.modes.get(10), FIRMATA_MODE.SERVO);
  servo.handle({ label: 'Shirt', confidence: 0.99 }); // not a listed label: rest angle
  await fake.until(() => fake.servoAngle(10) === 20);
});

test('actuators: the mapping alone (no board)', () => {
  const m: ActuatorMapping = { kind: 'servo', pin: 9, labels: ['Bag', 'Sneaker'], minConfidence: 0.6, drive: 'on-off', angleRange: [0, 90], labelAngles: { Sneaker: 45 } };
  assert.deepEqual(commandFor(m, { label: 'Bag', confidence: 0.7 }), { kind: 'servo', angle: 90 });
  assert.deepEqual(commandFor(m, { label: 'Sneaker', confidence: 0.7 }), { kind: 'servo', angle: 45 });
  assert.deepEqual(commandFor(m, { label: 'Sneaker', confidence: 0.5 }), { kind: 'servo', angle: 0 });
  assert.deepEqual(commandFor({ ...m, kind: 'led', drive: 'confidence' }, { label: 'Bag', confidence: 0.8 }), { kind: 'led', on: true, brightness: 204 });
  assert.throws(() => new Actuator({} as BoardConnection, { ...m, minConfidence: 2 }), /minimum confidence must be 0\.\.1/);
  // Detection and multilabel answers: the best-scoring listed class found drives the output.
  const boxes = (...found: Array<[string, number]>) => ({ kind: 'detection', detections: found.map(([label, score], index) => ({ box: [0, 0, 1, 1], index, label, score })) });
  assert.deepEqual(commandFor(m, classResultFor(m, boxes(['Shirt', 0.99], ['Sneaker', 0.8], ['Bag', 0.7]))!), { kind: 'servo', angle: 45 }, 'Sneaker, the best listed');
  assert.deepEqual(commandFor(m, classResultFor(m, boxes(['Shirt', 0.99]))!), { kind: 'servo', angle: 0 }, 'nothing listed found: rest');
  assert.deepEqual(commandFor(m, classResultFor(m, boxes())!), { kind: 'servo', angle: 0 });
  assert.deepEqual(classResultFor(m, { kind: 'multilabel', positive: [{ index: 4, label: 'Bag', probability: 0.9 }] }), { label: 'Bag', index: 4, confidence: 0.9 });
  assert.equal(classResultFor(m, { kind: 'tensors', outputs: {} }), null, 'raw tensors drive nothing');
  assert.throws(() => parsePins('A0, x9'), /pin "x9" is neither/);
});

test('board: unplugged, it goes to lost; plugged back, it reconnects by itself and the components work again', async () => {
  const fake = new FakeArduino('/dev/ttyACM1');
  const c = connect(fake, 40);
  await c.ready();
  const seen = states(c);
  const sampler = new AnalogSampler(c, { pins: ['A0'], periodMs: 10 });
  const led = new Actuator(c, { kind: 'led', pin: 13, labels: [], minConfidence: 0, drive: 'on-off' });
  led.handle({ label: 'Bag', confidence: 1 });
  await fake.until(() => fake.outputs.get(13) === 1);

  fake.unplug();
  const err = await nextState(c, 'lost');
  assert.match(String(err?.message), /\/dev\/ttyACM1 disconnected/);
  assert.equal(led.connected, false);
  await sleep(150); // several attempts fail while the port is gone
  assert.equal(c.state, 'lost');
  assert.match(String(c.lastError?.message), /No such file or directory/);
  assert.equal(fake.opens, 1);

  fake.outputs.clear();
  fake.plugIn();
  await nextState(c, 'ready');
  assert.equal(c.connections, 2);
  assert.equal(fake.opens, 2);
  assert.deepEqual(seen.filter((s, i) => s !== seen[i - 1]), ['lost', 'ready']);
  await fake.until(() => fake.outputs.get(13) === 1); // the last state is put back
  await fake.until(() => fake.reportingAnalog.has(0));
  fake.analog(0, 321);
  await waitFor<AnalogReading>(sampler, 'reading', (r) => r.values[0] === 321);
  sampler.close();
});

test('board: close releases the port, johnny-five\'s board cache and the components\' timers', async () => {
  const fake = new FakeArduino('/dev/ttyACM2');
  const before = cachedBoardCount();
  const c = connect(fake);
  const board = await c.ready();
  const sampler = new AnalogSampler(c, { pins: ['A0', 'A1'], periodMs: 5 });
  const led = new Actuator(c, { kind: 'led', pin: 13, labels: [], minConfidence: 0, drive: 'on-off' });
  led.handle({ label: 'x', confidence: 1 });
  assert.ok((board as unknown as { register: unknown[] }).register.length >= 3);
  await c.close();
  assert.equal(c.state, 'closed');
  assert.equal(fake.port?.isOpen, false, 'the serial port is closed');
  assert.equal(cachedBoardCount(), before, 'the board left johnny-five\'s cache');
  assert.equal((board as unknown as { register: unknown[] }).register.length, 0, 'components unregistered');
  const samples = sampler.samples;
  await sleep(40);
  assert.equal(sampler.samples, samples, 'the sampling timer stopped');
  const again = await MockBinding.open({ path: fake.path, baudRate: 57600 }); // not locked any more
  await again.close();
});

test('board: an injected IO plugin (mock-firmata) gets the pin writes and gives the readings', async () => {
  let io!: IoPlugin;
  const c = new BoardConnection({ io: () => (io = new MockFirmata() as IoPlugin), reconnectMs: 20 });
  open.push(c);
  const proto = MockFirmata.prototype as unknown as Record<string, () => void>;
  const digitalWrite = mock.method(proto, 'digitalWrite');
  const analogRead = mock.method(proto, 'analogRead');
  io.emit('connect');
  io.emit('ready');
  await c.ready();
  const led = new Actuator(c, { kind: 'led', pin: 13, labels: ['Bag'], minConfidence: 0, drive: 'on-off' });
  led.handle({ label: 'Bag', confidence: 1 });
  led.handle({ label: 'Coat', confidence: 1 });
  assert.deepEqual(digitalWrite.mock.calls.map((call) => call.arguments), [[13, 1], [13, 0]]);
  const sampler = new AnalogSampler(c, { pins: ['A0'], periodMs: 5 });
  const [pin, deliver] = analogRead.mock.calls[0].arguments as unknown as [number, (v: number) => void];
  assert.equal(pin, 0);
  deliver(555);
  const reading = await waitFor<AnalogReading>(sampler, 'reading');
  assert.deepEqual(reading.values, [555]);
  // The plugin reports its transport closed: lost, then a fresh plugin from the factory.
  const first = io;
  first.emit('close');
  assert.equal(c.state, 'lost');
  await waitUntil(() => io !== first);
  io.emit('connect');
  io.emit('ready');
  await c.ready();
  assert.equal(c.connections, 2);
  sampler.close();
  digitalWrite.mock.restore();
  analogRead.mock.restore();
});

function waitFor<T>(emitter: NodeJS.EventEmitter, event: string, test: (v: T) => boolean = () => true, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, on); reject(new Error(`no matching ${event} in ${timeoutMs} ms`)); }, timeoutMs);
    const on = (v: T) => { if (test(v)) { clearTimeout(timer); emitter.off(event, on); resolve(v); } };
    emitter.on(event, on);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(test: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error('condition not met');
    await sleep(5);
  }
}

