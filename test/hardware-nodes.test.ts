// gateway-board, board-source, camera-source and board-actuator in Node-RED (test helper),
// on a StandardFirmata Uno behind @serialport/binding-mock, in front of split-head.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockBinding } from '@serialport/binding-mock';
import { PNG } from 'pngjs';
import { helper, startRed, stopRed, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { loadHardwareFlow, boardNode, StatusLog } from './support/hardware-red';
import { FakeArduino, FIRMATA_MODE } from './support/fake-arduino';
import { BUNDLE, tempDir } from './support/paths';
import { cachedBoardCount } from '../hardware/board';

before(startRed);
after(stopRed);
afterEach(async () => { await helper.unload(); MockBinding.reset(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('board-source: readings become messages; the status follows the port out and back in', async () => {
  const fake = new FakeArduino('/dev/ttyACM0');
  await loadHardwareFlow(fake, [tab, boardNode(fake),
    { id: 'src', type: 'board-source', z: 'f1', board: 'board', mode: 'analog', pins: 'A0', period: '10', window: '1', topic: 'light', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' }]);
  const statuses = new StatusLog('src');
  const out = new Collector('out');
  await statuses.wait((s) => s.fill === 'green');
  await fake.until(() => fake.reportingAnalog.has(0));
  fake.analog(0, 700);
  await waitFor(() => out.messages.some((m) => m.payload === 700));
  const msg = out.messages.find((m) => m.payload === 700)!;
  assert.equal(msg.topic, 'light');
  assert.deepEqual(msg.pins, ['A0']);
  assert.equal(typeof msg.capturedAt, 'number');

  fake.unplug();
  const lost = await statuses.wait((s) => s.fill === 'red');
  assert.match(String(lost.text), /^board lost: /);
  await sleep(300); // retries fail while the cable is out
  assert.equal(statuses.last?.fill, 'red');
  fake.plugIn();
  await statuses.wait((s) => s.fill === 'green');
  await fake.until(() => fake.reportingAnalog.has(0));
  fake.analog(0, 11);
  await waitFor(() => out.messages.some((m) => m.payload === 11));
});

test('board-source trigger → camera-source → split-head: a PIR edge captures a frame the head accepts', async () => {
  const fake = new FakeArduino();
  const dir = tempDir('frames');
  fs.writeFileSync(path.join(dir, 'shot-1.png'), rgbPng(320, 240));
  await loadHardwareFlow(fake, [tab, modelNode(BUNDLE), boardNode(fake),
    { id: 'pir', type: 'board-source', z: 'f1', board: 'board', mode: 'trigger', pins: '2', edge: 'rising', debounce: '0', wires: [['cam']] },
    { id: 'cam', type: 'camera-source', z: 'f1', model: 'model', source: dir, fps: '0', fit: 'crop', invert: false, autostart: false, wires: [['frames', 'head']] },
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['out']] },
    { id: 'frames', type: 'helper', z: 'f1' }, { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  await modelReady();
  const frames = new Collector('frames');
  const out = new Collector('out');
  const caught = new Collector('caught');
  await fake.until(() => fake.modes.get(2) === FIRMATA_MODE.INPUT && fake.reportingPorts.has(0));
  await sleep(30);
  fake.digital(2, 1);
  const [frame] = await frames.wait(1);
  assert.ok(Buffer.isBuffer(frame.payload));
  assert.equal((frame.payload as Buffer).length, 28 * 28, 'resized to the manifest\'s 1×28×28');
  assert.equal(frame.pin, 2, 'the trigger\'s fields travel with the frame');
  assert.deepEqual(frame.camera, { name: 'shot-1.png', index: 0 });
  const [headed] = await out.wait(1);
  assert.deepEqual((headed.features as { shape: number[] }).shape, [64, 7, 7]);
  assert.equal(caught.messages.length, 0);
});

test('camera-source: a bad source is a clear error, and the node keeps serving once it is fixed', async () => {
  const dir = tempDir('frames-empty');
  await loadHardwareFlow(null, [tab,
    { id: 'cam', type: 'camera-source', z: 'f1', model: '', width: '8', height: '8', channels: '3', source: dir, fps: '0', autostart: false, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  const out = new Collector('out');
  const caught = new Collector('caught');
  helper.getNode('cam').receive({ payload: true });
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /no images in/);
  fs.writeFileSync(path.join(dir, 'a.png'), rgbPng(16, 16));
  helper.getNode('cam').receive({ payload: true });
  const [msg] = await out.wait(1);
  assert.equal((msg.payload as Buffer).length, 3 * 8 * 8);
});

test('board-actuator: results drive the pin; bad input is reported and the next result still works', async () => {
  const fake = new FakeArduino();
  await loadHardwareFlow(fake, [tab, boardNode(fake),
    { id: 'act', type: 'board-actuator', z: 'f1', board: 'board', kind: 'led', pin: '13', labels: 'Bag, Sneaker', minConfidence: '0.6', drive: 'on-off', wires: [['out']] },
    { id: 'srv', type: 'board-actuator', z: 'f1', board: 'board', kind: 'servo', pin: '9', labels: '', minConfidence: '0', drive: 'confidence', angleMin: '0', angleMax: '180', wires: [[]] },
    { id: 'out', type: 'helper', z: 'f1' }, ...catcher]);
  const statuses = new StatusLog('act');
  const out = new Collector('out');
  const caught = new Collector('caught');
  await statuses.wait((s) => s.fill === 'green');
  const act = helper.getNode('act');
  act.receive({ payload: { label: 'Bag', index: 8, confidence: 0.9, source: 'edge' } });
  await fake.until(() => fake.outputs.get(13) === 1);
  act.receive({ payload: 'Bag' });
  act.receive({ payload: { error: 'frame rejected', source: 'cloud' } });
  act.receive({ payload: { label: 'Coat', index: 4, confidence: 0.99, source: 'cloud' } });
  await fake.until(() => fake.outputs.get(13) === 0);
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /msg\.payload must be a result \{label, confidence 0\.\.1, index\?\}/);
  const msgs = await out.wait(3);
  assert.deepEqual(msgs[0].actuator, { kind: 'led', on: true, brightness: 255, pin: 13, applied: true });
  assert.equal(msgs[1].actuator, undefined, 'an error result passes on without acting');
  helper.getNode('srv').receive({ payload: { label: 'Bag', confidence: 0.25 } });
  await fake.until(() => fake.servoAngle(9) === 45);
  await statuses.wait((s) => s.fill === 'green' && /off \(2\)/.test(String(s.text)));
});

test('gateway-board: closing the flow releases the port and johnny-five\'s board cache', async () => {
  const fake = new FakeArduino('/dev/ttyACM3');
  const before = cachedBoardCount();
  await loadHardwareFlow(fake, [tab, boardNode(fake),
    { id: 'src', type: 'board-source', z: 'f1', board: 'board', mode: 'analog', pins: 'A0, A1', period: '5', window: '8', wires: [[]] }]);
  await new StatusLog('src').wait((s) => s.fill === 'green');
  assert.equal(cachedBoardCount(), before + 1);
  await helper.unload();
  assert.equal(fake.port?.isOpen, false);
  assert.equal(cachedBoardCount(), before);
  const port = await MockBinding.open({ path: fake.path, baudRate: 57600 });
  await port.close();
});

test('gateway-board: no port configured is an error status on its users, not a crash', async () => {
  await loadHardwareFlow(null, [tab, { id: 'board', type: 'gateway-board', port: '', baud: '57600', reconnect: '2' },
    { id: 'act', type: 'board-actuator', z: 'f1', board: 'board', kind: 'relay', pin: '7', labels: '', minConfidence: '0', drive: 'on-off', wires: [[]] }, ...catcher]);
  const caught = new Collector('caught');
  helper.getNode('act').receive({ payload: { label: 'Bag', confidence: 1 } });
  const [err] = await caught.wait(1);
  assert.match(String((err.error as { message: string }).message), /a board needs a serial port path/);
});

function rgbPng(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) img.data.set([(i * 7) % 256, (i * 13) % 256, (i * 3) % 256, 255], i * 4);
  return PNG.sync.write(img);
}

async function waitFor(test: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
