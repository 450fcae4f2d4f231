// The board libraries (johnny-five, firmata-io, serialport) are optional dependencies: where
// one failed to install, every other node still loads and works, and the board nodes say
// which library is missing and how to get it. "Not installed" is made real for this process
// by refusing to resolve the module, as Node does when the folder is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Module from 'node:module';
import { helper, startRed, stopRed, modelReady, modelNode, tab, Collector, ALL_NODES } from './support/red';
import { HARDWARE_NODES } from './support/hardware-red';

import { BUNDLE } from './support/paths';
import { MissingDependencyError, optionalModule } from '../hardware/optional';

const ABSENT = new Set(['johnny-five']);
const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const resolve = resolver._resolveFilename;
resolver._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (ABSENT.has(request)) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};

before(startRed);
after(async () => { await stopRed(); resolver._resolveFilename = resolve; });

test('optionalModule names the missing module and the command that installs it; other load errors pass through', () => {
  assert.throws(() => optionalModule('johnny-five'), (e: unknown) => e instanceof MissingDependencyError && /johnny-five is not installed.*npm install johnny-five/.test(e.message));
  assert.equal(typeof optionalModule<typeof import('pngjs')>('pngjs').PNG, 'function');
});

test('without johnny-five: gateway-board reports it, the split nodes still classify', async () => {
  const flow = [tab, modelNode(BUNDLE),
    { id: 'board', type: 'gateway-board', port: '/dev/ttyACM0', baud: '57600', reconnect: '1' },
    { id: 'src', type: 'board-source', z: 'f1', board: 'board', mode: 'analog', pins: 'A0', period: '100', window: '1', wires: [[]] },
    { id: 'samples', type: 'sample-source', z: 'f1', model: 'model', fps: '0', limit: '0', autostart: false, wires: [['head']] },
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' }];
  await helper.load([...ALL_NODES, ...HARDWARE_NODES], flow, {});
  const board = helper.getNode('board') as unknown as { problem: string | null; connection: unknown };
  assert.equal(board.connection, null);
  assert.match(String(board.problem), /johnny-five is not installed .*npm install johnny-five/);
  const logged = (helper.log() as unknown as { args: Array<[{ level: number; msg: unknown }]> }).args.map((a) => String(a[0].msg));
  assert.ok(logged.some((m) => m.includes('johnny-five is not installed')), 'the reason is in the log');
  await modelReady();
  const out = new Collector('out');
  helper.getNode('samples').receive({ payload: 3 } as never);
  const messages = await out.wait(3);
  for (const m of messages) assert.ok((m.features as { data: Float32Array }).data.length > 0, 'the head ran');
});
