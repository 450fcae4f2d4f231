// Tails scaled out as an MQTT 5 shared subscription on mosquitto: two `split-dnn start
// --role cloud` processes and gateways as real processes or a bare MQTT client. Each frame
// is inferred by exactly one tail; duplicates are answered without a second inference;
// gaps are reported by the group, not by each tail's partial view; a killed gateway's will
// tells the tails it is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as mqtt from 'mqtt';
import { startFleet, Fleet } from './support/faults';
import { startEdge, ResultLog, tally, streamKeys } from './support/fleet';
import { featuresFrame } from './support/frames';
import { BUNDLE } from './support/paths';
import { ModelRuntime } from '../lib/model';
import { decodeFrame, framesOf } from '../lib/wire';
import { topics } from '../lib/link/topics';

const FRAMES = 300;
let fleet: Fleet;
before(async () => { fleet = await startFleet(2); });
after(async () => { await fleet?.stop(); });

test(`${FRAMES} frames over a shared group of two tails: each inferred by exactly one tail, each answered once`, async () => {
  const gateway = 'gw-shared';
  const perTail = fleet.tails.map((t) => new ResultLog(gateway, t));
  const byTails = new ResultLog(gateway, ...fleet.tails);
  // A long resend timeout: nothing here may be sent twice, so nothing may be inferred twice.
  const edge = await startEdge(fleet.broker.url, fleet.dir, { gateway, fps: 100, limit: FRAMES, resendAfter: 60 });
  try {
    const atEdge = new ResultLog(gateway, edge);
    await atEdge.wait(FRAMES);
    const keys = streamKeys(atEdge.counts, gateway, FRAMES);
    assert.deepEqual(tally(atEdge.counts, keys), { expected: FRAMES, delivered: FRAMES, lost: 0, duplicates: 0, unexpected: 0 });
    // A tail prints its result after publishing the answer (tail-infer's wires: transmit
    // first, then the debug node), and this process reads three pipes in whatever order it
    // gets to them: the gateway's 300th line can arrive before a tail's last. Wait for the
    // tails' lines before counting them (a frame no tail inferred still fails below).
    await byTails.wait(FRAMES, 20_000).catch(() => undefined);
    const [a, b] = perTail.map((p) => p.counts);
    const both = [...a.keys()].filter((k) => b.has(k));
    assert.deepEqual(both, [], 'no frame went to both tails');
    assert.equal(a.size + b.size, FRAMES, 'between them the tails inferred every frame');
    assert.ok([...a.values(), ...b.values()].every((n) => n === 1), 'and each once');
    assert.ok(Math.min(a.size, b.size) >= FRAMES * 0.25, `the broker spread the load (${a.size} / ${b.size})`);
    for (const t of fleet.tails) assert.doesNotMatch(t.output(), /gateway gw-shared .*missing/, 'a tail seeing half the stream reports no gaps');
  } finally {
    await edge.stop('SIGKILL');
  }
});

test('over the network: a duplicate is answered again without a second inference; a gap is reported, then its late frames', async () => {
  const rt = await ModelRuntime.open(BUNDLE, { workers: 1 });
  const client = await mqtt.connectAsync(fleet.broker.url, { protocolVersion: 5, clientId: 'raw-gateway' });
  try {
    const gateway = 'gw-raw';
    const answers: number[] = [];
    client.on('message', (_t, payload) => answers.push(...framesOf(payload).map((f) => decodeFrame(f).seq)));
    await client.subscribeAsync(topics.resultsFor(gateway), { qos: 1 });
    const frames = new Map<number, Buffer>();
    for (const seq of [0, 1, 2, 3, 4, 5, 6]) frames.set(seq, await featuresFrame(rt, seq, 0, seq, gateway, 7));
    const send = (seq: number) => client.publishAsync(topics.features(gateway, rt.modelId), frames.get(seq)!, { qos: 1 });
    const answered = async (seq: number, times = 1) => {
      for (let i = 0; i < 200 && answers.filter((s) => s === seq).length < times; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(answers.filter((s) => s === seq).length, times, `answers for seq ${seq}`);
    };
    const inferred = fleet.tails.map((t) => new ResultLog(gateway, t));
    for (const seq of [0, 1, 2]) await send(seq);
    await answered(2);
    // The answer went missing on its way back, say: the gateway sends frame 2 again.
    await send(2);
    await answered(2, 2);
    const runs = inferred.reduce((n, l) => n + (l.counts.get(`${gateway}/7/2`) ?? 0), 0);
    assert.equal(runs, 1, 'the resend was answered from the group\'s answers, not inferred again');

    for (const seq of [5, 6]) await send(seq);
    const gap = /gateway gw-raw \(boot 7\): 2 frame\(s\) missing, seq 3\.\.4/;
    await Promise.any(fleet.tails.map((t) => t.waitFor(gap, 10_000)));
    for (const seq of [3, 4]) await send(seq);
    await Promise.any(fleet.tails.map((t) => t.waitFor(/gateway gw-raw \(boot 7\): \d+ missing frame\(s\) arrived late/, 10_000)));
    await answered(4);
  } finally {
    await client.endAsync();
    await rt.close();
  }
});

test('a gateway SIGKILLed: its will tells every tail it is gone; restarted, it is live again', async () => {
  const gateway = 'gw-will';
  const live = new RegExp(`gateway ${gateway} is live \\(boot (\\d+)\\)`, 'g');
  let edge = await startEdge(fleet.broker.url, fleet.dir, { gateway, autostart: false });
  try {
    await Promise.all(fleet.tails.map((t) => t.waitFor(live)));
    const killedAt = Date.now();
    await edge.stop('SIGKILL');
    await Promise.all(fleet.tails.map((t) => t.waitFor(new RegExp(`gateway ${gateway} is gone`), 5000)));
    assert.ok(Date.now() - killedAt < 5000);
    edge = await startEdge(fleet.broker.url, fleet.dir, { gateway, autostart: false });
    for (const t of fleet.tails) await t.waitForCount(live, 2, 10_000);
    const boots = [...fleet.tails[0].output().matchAll(live)].map((m) => m[1]);
    assert.notEqual(boots[0], boots[1], 'the restart is a new boot');
  } finally {
    await edge.stop('SIGKILL');
  }
});
