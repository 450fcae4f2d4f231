// The runtime as a systemd service: the unit install-service writes, and the watchdog
// against a stand-in for systemd's notify socket (Python's AF_UNIX datagram socket; Node
// has none): READY, pings while the runtime answers, and an exit when it stops answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './support/paths';

const BIN = path.join(__dirname, '..', 'bin', 'split-dnn.js');
const children = new Set<ChildProcess>();
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });

test('install-service writes a unit: notify + watchdog, restart on failure, own user, state dir, memory limit', () => {
  const out = tempDir('unit');
  execFileSync(process.execPath, [BIN, 'install-service', '--role', 'edge', '--out', out, '--broker', 'mqtt://broker:1883', '--gateway', 'pi-17', '--memory-max', '768M', '--groups', 'dialout,video'], { encoding: 'utf8' });
  const unit = fs.readFileSync(path.join(out, 'split-dnn-edge.service'), 'utf8');
  const value = (k: string) => unit.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1];
  assert.equal(value('Type'), 'notify');
  assert.equal(value('NotifyAccess'), 'all');
  assert.equal(value('Restart'), 'on-failure');
  assert.equal(value('User'), 'split-dnn');
  assert.equal(value('MemoryMax'), '768M');
  assert.equal(value('WatchdogSec'), '30');
  assert.equal(value('SupplementaryGroups'), 'dialout video');
  assert.equal(value('KillSignal'), 'SIGTERM');
  assert.match(value('ExecStart')!, / --max-semi-space-size=2 .* start --role edge --user-dir \/var\/lib\/split-dnn\/edge --watchdog --broker mqtt:\/\/broker:1883 --gateway pi-17$/);
  assert.match(value('StateDirectory')!, /split-dnn\/edge/);
  // systemd itself parses it (a missing account is only a warning).
  const verify = spawnSyncText('systemd-analyze', ['verify', path.join(out, 'split-dnn-edge.service')]);
  assert.doesNotMatch(verify, /Unknown key|Invalid|Failed to parse|unknown lvalue/i, verify);
  assert.throws(() => execFileSync(process.execPath, [BIN, 'install-service', '--memory-max', 'lots', '--out', '-'], { stdio: 'pipe' }), /is not a systemd size/);
});

function spawnSyncText(cmd: string, args: string[]): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/** A fake NOTIFY_SOCKET: every datagram printed with the time it arrived. */
function notifySocket(file: string): Promise<{ messages: { at: number; text: string }[]; stop(): void }> {
  const py = spawn('/usr/bin/python3', ['-u', '-c', `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print("bound", flush=True)
while True: print(repr(s.recv(4096).decode()), flush=True)
`, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(py);
  const messages: { at: number; text: string }[] = [];
  return new Promise((resolve) => {
    py.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        if (line === 'bound') resolve({ messages, stop: () => py.kill() });
        else messages.push({ at: Date.now(), text: line.slice(1, -1) });
      }
    });
  });
}

test('--watchdog: READY once the flows run, WATCHDOG=1 while the runtime answers, then SIGKILL itself when the event loop hangs', async () => {
  const dir = tempDir('watchdog');
  const sock = path.join(dir, 'notify.sock');
  const listener = await notifySocket(sock);
  const flowFile = path.join(dir, 'flow.json');
  // After 5 s a function node spins forever: the runtime stops answering.
  fs.writeFileSync(flowFile, JSON.stringify([
    { id: 't', type: 'tab', label: 'hang' },
    { id: 'i', type: 'inject', z: 't', once: true, onceDelay: 5, repeat: '', topic: '', payload: '', payloadType: 'date', wires: [['f']] },
    { id: 'f', type: 'function', z: 't', func: 'console.log("hanging now"); while (true) {}', outputs: 1, wires: [[]] },
  ]));
  const proc = spawn(process.execPath, [BIN, 'start', '--role', 'edge', '--port', '0', '--user-dir', path.join(dir, 'user'), '--flows', flowFile, '--reset-flows', '--watchdog'], {
    env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '1000000' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  let hungAt = 0;
  const onData = (d: Buffer) => { out += d; if (!hungAt && out.includes('hanging now')) hungAt = Date.now(); };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  listener.stop();
  const texts = listener.messages.map((m) => m.text);
  assert.ok(texts.some((t) => t.startsWith('READY=1')), `READY sent: ${JSON.stringify(texts)}\n${out.slice(-2000)}`);
  assert.ok(hungAt > 0, `the flow hung the runtime:\n${out.slice(-2000)}`);
  const pingsBefore = listener.messages.filter((m) => m.text === 'WATCHDOG=1' && m.at < hungAt).length;
  const pingsAfter = listener.messages.filter((m) => m.text === 'WATCHDOG=1' && m.at > hungAt + 1000).length;
  console.log(JSON.stringify({ pingsBefore, pingsAfter, exit, msToExit: Date.now() - hungAt }));
  assert.ok(pingsBefore >= 3, 'pinged while the runtime answered');
  assert.equal(pingsAfter, 0, 'no ping once the runtime stopped answering');
  assert.equal(exit.signal, 'SIGKILL', 'the watchdog ended the hung process (systemd restarts it: Restart=on-failure)');
  assert.match(out, /watchdog: the runtime has not answered for \d+ ms/);
});
