// split-head's bounded queue (issue 21): a source faster than the model is shed by the
// configured policy, memory stays flat, accepted + shed = offered, and frames that reached
// the outbox are never touched. The policies alone first, then in real Node-RED.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Admission, ShedPolicy, processAdmissions } from '../lib/admission';
import { helper, startRed, stopRed, loadFlow, Collector, modelReady, modelNode, tab, catcher } from './support/red';
import { BUNDLE, tempDir } from './support/paths';
import { ModelRuntime, readSamples, sampleImage, SampleSet } from '../lib/model';
import { startEmbeddedBroker } from '../lib/broker/embedded';
import { fleetOfProcess } from '../lib/metrics';

/** Offers 0..n-1 to an admission whose runs wait until released; what ran, what was shed. */
function overload(policy: ShedPolicy, n: number, keepEvery = 3) {
  const ran: number[] = [];
  const shed: number[] = [];
  const release: (() => void)[] = [];
  const a = new Admission<number>({ capacity: 4, concurrency: 1, policy, keepEvery }, {
    run: (i) => { ran.push(i); return new Promise<void>((r) => release.push(r)); },
    shed: (i) => shed.push(i),
  });
  for (let i = 0; i < n; i++) a.offer(i);
  return { a, ran, shed, release };
}

async function drain(o: ReturnType<typeof overload>) {
  while (o.release.length) { o.release.shift()!(); await new Promise((r) => setImmediate(r)); }
}

test('drop-newest: the frames already waiting run, the new ones are shed', async () => {
  const o = overload('drop-newest', 20);
  assert.deepEqual(o.ran, [0]);
  assert.deepEqual(o.shed, Array.from({ length: 15 }, (_, i) => i + 5));
  await drain(o);
  assert.deepEqual(o.ran, [0, 1, 2, 3, 4]);
  assert.deepEqual(o.a.counts(), { offered: 20, admitted: 5, shed: 15, waiting: 0, running: 0, pressure: false });
});

test('drop-oldest: the newest frames run, the oldest waiting make room', async () => {
  const o = overload('drop-oldest', 20);
  assert.deepEqual(o.shed, Array.from({ length: 15 }, (_, i) => i + 1));
  await drain(o);
  assert.deepEqual(o.ran, [0, 16, 17, 18, 19]);
  const c = o.a.counts();
  assert.equal(c.admitted + c.shed, c.offered);
});

test('keep-every-k: while full, every k-th offered frame is kept and the rest shed', async () => {
  const o = overload('keep-every-k', 20, 3);
  await drain(o);
  // 0 runs, 1-4 wait; of 5..19 (full), every 3rd (7, 10, 13, 16, 19) is kept, pushing out the oldest waiting.
  assert.deepEqual(o.ran, [0, 10, 13, 16, 19]);
  assert.equal(o.shed.length, 15);
  assert.deepEqual(o.shed.filter((i) => i >= 5 && i % 3 !== 1), [5, 6, 8, 9, 11, 12, 14, 15, 17, 18]);
  const c = o.a.counts();
  assert.equal(c.admitted + c.shed, c.offered);
});

test('pressure turns on when the queue is 3/4 full and off once it has drained to 1/4', async () => {
  const seen: boolean[] = [];
  const release: (() => void)[] = [];
  const a = new Admission<number>({ capacity: 4, concurrency: 1, policy: 'drop-newest' }, {
    run: () => new Promise<void>((r) => release.push(r)), shed: () => undefined, pressure: (on) => seen.push(on),
  });
  for (let i = 0; i < 3; i++) a.offer(i);
  assert.deepEqual(seen, [], '1 running, 2 waiting of 4');
  a.offer(3);
  assert.deepEqual(seen, [true], '3 waiting of 4');
  release.shift()!(); await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [true], '2 waiting of 4: still above a quarter');
  release.shift()!(); await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [true, false]);
});

// In Node-RED, with the real model.
let rt: ModelRuntime;
let set: SampleSet;
before(async () => { rt = await ModelRuntime.open(BUNDLE, { workers: 1 }); set = await readSamples(rt.bundle); await startRed(); });
after(async () => { await rt.close(); await stopRed(); });
afterEach(() => helper.unload());

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
// The test helper's sinon spies keep every send() call's arguments: that is the harness's memory, not the node's.
const heapMB = () => { (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox.resetHistory(); gc(); return process.memoryUsage().heapUsed / 2 ** 20; };
const frame = (i: number) => ({ payload: Buffer.from(sampleImage(set, i % set.count)), capturedAt: Date.now() });

const headFlow = (policy: ShedPolicy, extra: object[] = [], wires = [['out'], ['bp']]) => [tab, modelNode(BUNDLE),
  { id: 'head', type: 'split-head', z: 'f1', model: 'model', queue: '16', concurrency: '4', policy, keepEvery: '4', wires },
  { id: 'out', type: 'helper', z: 'f1' }, { id: 'bp', type: 'helper', z: 'f1' }, ...extra, ...catcher];

const countsOf = () => processAdmissions.sum();

for (const policy of ['drop-newest', 'drop-oldest', 'keep-every-k'] as ShedPolicy[]) {
  test(`split-head (${policy}): 20,000 frames offered far faster than the model: memory flat, accepted + shed = offered`, async () => {
    await loadFlow(headFlow(policy));
    await modelReady();
    const out = new Collector('out');
    const bp = new Collector('bp');
    const caught = new Collector('caught');
    const head = helper.getNode('head');
    const start = countsOf();
    const heaps: number[] = [];
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 0; i < 2000; i++) head.receive({ ...frame(i), n: burst * 2000 + i });
      const c = countsOf();
      assert.ok(c.waiting <= 16, `never more than the queue waits: ${c.waiting}`);
      heaps.push(heapMB());
      await new Promise((r) => setImmediate(r));
    }
    // Unbounded, 18,000 more frames (and their preprocessed inputs) would be held: tens of MB.
    assert.ok(heaps[9] - heaps[1] < 8, `heap stays flat under overload: ${heaps.map((h) => h.toFixed(1)).join(', ')} MB`);
    for (let i = 0; i < 400 && countsOf().waiting + countsOf().running > 0; i++) await new Promise((r) => setTimeout(r, 25));
    const c = countsOf();
    const offered = c.offered - start.offered;
    const shed = c.shed - start.shed;
    assert.equal(offered, 20_000);
    assert.ok(shed > 10_000, `most of the overload is shed: ${shed}`);
    const answered = await out.wait(offered - shed, 20_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(out.messages.length, offered - shed, 'every frame not shed comes out, once');
    assert.equal(answered.length + shed, offered);
    assert.equal(caught.messages.length, 0, 'shedding is not an error');
    assert.equal(bp.messages[0]?.payload, 'pause', 'sources are told to pause');
    assert.equal(bp.messages.at(-1)?.payload, 'resume', 'and to resume once the queue drained');
    // What survives of the last burst (offered in one go, the model idle meanwhile) tells the policies apart:
    // drop-newest its first frames, drop-oldest its last 16 in a row, keep-every-k its last 16 kept, 4 apart.
    const last = answered.map((m) => Number(m.n)).filter((k) => k >= 18_000).sort((a, b) => a - b);
    const steps = new Set(last.slice(-16).slice(1).map((k, i) => k - last.slice(-16)[i]));
    if (policy === 'drop-newest') assert.ok(last.at(-1)! < 18_100, `the last burst's first frames: ${last.join(',')}`);
    else assert.deepEqual([...steps], [policy === 'drop-oldest' ? 1 : 4], `the last burst's last frames: ${last.join(',')}`);
    if (policy === 'drop-oldest') assert.equal(last.at(-1), 19_999);
  });
}

/** Runs a sample-source at 4,000 frames/s into split-head for 3,000 frames; how many were shed. */
async function shedFromSource(backpressure: boolean): Promise<{ shed: number; paused: boolean }> {
  await loadFlow([tab, modelNode(BUNDLE),
    { id: 'src', type: 'sample-source', z: 'f1', model: 'model', fps: '4000', limit: '3000', autostart: true, wires: [['head']] },
    { id: 'head', type: 'split-head', z: 'f1', model: 'model', queue: '64', concurrency: '1', policy: 'drop-newest', wires: [['out'], backpressure ? ['src', 'bp'] : ['bp']] },
    { id: 'out', type: 'helper', z: 'f1' }, { id: 'bp', type: 'helper', z: 'f1' }, ...catcher]);
  const start = countsOf();
  await modelReady();
  const out = new Collector('out');
  const bp = new Collector('bp');
  for (let i = 0; i < 2400 && (countsOf().offered - start.offered < 3000 || countsOf().waiting + countsOf().running > 0); i++) await new Promise((r) => setTimeout(r, 25));
  const c = countsOf();
  assert.equal(c.offered - start.offered, 3000);
  await out.wait(3000 - (c.shed - start.shed));
  await helper.unload();
  return { shed: c.shed - start.shed, paused: bp.messages.some((m) => m.payload === 'pause') };
}

test('split-head\'s backpressure output pauses a sample-source: far fewer frames shed than with it unwired', async () => {
  const open = await shedFromSource(false);
  const held = await shedFromSource(true);
  assert.ok(open.paused && held.paused, 'the queue filled both times');
  assert.ok(open.shed > 500, `at 4,000 frames/s the model cannot keep up: ${open.shed} of 3000 shed unwired`);
  console.log(`# shed unwired ${open.shed}, wired ${held.shed}`);
  assert.ok(held.shed * 5 < open.shed, `wired, the source waits: ${held.shed} shed against ${open.shed}`);
});

test('shedding never touches the outbox: every frame encoded while the broker is away is delivered', async () => {
  const down = await startEmbeddedBroker(0);
  const port = down.port;
  await down.close();
  const dir = tempDir('outbox');
  const flow = headFlow('drop-oldest', [
    { id: 'link', type: 'split-link', broker: `mqtt://127.0.0.1:${port}`, protocol: '4', gateway: 'gw-adm', group: '', verifyServer: true, outboxDir: dir, window: '64', resendAfter: '5' },
    { id: 'gate', type: 'early-exit-gate', z: 'f1', model: 'model', mode: 'threshold', threshold: '1', targetAccuracy: '0.9', wires: [[], ['enc']] },
    { id: 'enc', type: 'bottleneck-encode', z: 'f1', model: 'model', rate: '0', gateway: 'gw-adm', link: 'link', wires: [['tx-edge', 'encoded']] },
    { id: 'tx-edge', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'edge', wires: [['results']] },
    { id: 'tx-cloud', type: 'mqtt-transmit', z: 'f1', link: 'link', role: 'cloud', wires: [['tail']] },
    { id: 'tail', type: 'tail-infer', z: 'f1', model: 'model', wires: [['tx-cloud']] },
    { id: 'encoded', type: 'helper', z: 'f1' }, { id: 'results', type: 'helper', z: 'f1' },
  ], [['gate'], []]);
  await loadFlow(flow);
  await modelReady();
  const encoded = new Collector('encoded');
  const results = new Collector('results');
  const start = countsOf();
  const head = helper.getNode('head');
  for (let burst = 0; burst < 5; burst++) {
    for (let i = 0; i < 400; i++) head.receive(frame(i));
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const shed = countsOf().shed - start.shed;
  const n = encoded.messages.length;
  assert.ok(shed > 0 && n > 0 && n + shed === 2000, `encoded ${n} + shed ${shed} = 2000 offered`);
  const link = await (helper.getNode('link') as unknown as { edge(): Promise<{ stats(): { pending: number } }> }).edge();
  assert.equal(link.stats().pending, n, 'every encoded frame waits in the outbox');
  // More overload while they wait: the outbox keeps all of them.
  for (let i = 0; i < 2000; i++) head.receive(frame(i));
  await new Promise((r) => setTimeout(r, 1500));
  const total = encoded.messages.length;
  assert.equal(link.stats().pending, total);
  const back = await startEmbeddedBroker(port);
  try {
    const msgs = await results.wait(total, 60_000);
    assert.equal(new Set(msgs.map((m) => (m.frame as { seq: number }).seq)).size, total, 'each accepted frame answered once');
  } finally {
    await helper.unload();
    await back.close();
  }
});

test('split-stats reports what split-head shed in /metrics', async () => {
  await loadFlow(headFlow('drop-newest', [{ id: 'stats', type: 'split-stats', z: 'f1', watch: 'edge', gateway: 'gw-shed', interval: '0.25', window: '5', path: '', wires: [[], [], [], [], [], [], ['table'], [], []] }, { id: 'table', type: 'helper', z: 'f1' }]));
  await modelReady();
  const table = new Collector('table');
  const head = helper.getNode('head');
  for (let i = 0; i < 500; i++) head.receive(frame(i));
  const shed = countsOf().shed;
  await new Promise((r) => setTimeout(r, 600));
  const text = await fleetOfProcess().registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('split_dnn_shed_frames_total{gateway="gw-shed"}'));
  assert.ok(line, 'the counter is exported');
  assert.equal(Number(line.split(' ')[1]), shed, 'all shed frames of this process, credited to the gateway');
  const rows = (await table.wait(1)).at(-1)!.payload as { gateway: string; shed: number }[];
  assert.equal(rows.find((r) => r.gateway === 'gw-shed')?.shed, shed, 'the dashboard table shows it');
});
