// sample-source: replays a bundle's labelled sample set as if it were a camera, so the
// demo and the tests have real frames (and ground truth) without hardware.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { readSamples, sampleImage, SampleSet } from '../../lib/model';
import { handleInput, StatusLine, short, statusParts } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface SampleSourceDef extends NodeDef { model: string; fps: string; limit: string; autostart: boolean }

/**
 * A count goes out BURST_TURN frames per millisecond at most: split-head pauses at 3/4 of its
 * 64-frame queue, and its pause must arrive (a message hop or two) before the queue is full.
 */
const BURST_TURN = 4;

function register(RED: NodeAPI): void {
  function SampleSource(this: Node, def: SampleSourceDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    const fps = Math.max(0.1, Number(def.fps) || 10);
    const limit = Math.max(0, Math.floor(Number(def.limit) || 0));
    let set: SampleSet | null = null;
    let next = 0;
    let sent = 0;
    let timer: NodeJS.Timeout | null = null;
    // Paused by split-head's backpressure output: the timer runs on, frames wait.
    let held = false;
    const status = new StatusLine(this, () => ({ fill: timer ? (held ? 'yellow' : 'green') : 'grey', shape: timer ? 'dot' : 'ring', text: statusParts(
      timer ? held ? RED._('sample-source.status.paused') : RED._('sample-source.status.fps', { fps }) : RED._('sample-source.status.stopped'),
      RED._('sample-source.status.sent', { n: short(sent) })) }));

    const samples = config
      ? config.runtime.then(async (rt) => (set = await readSamples(rt.bundle)))
      : Promise.reject(new Error('sample-source has no split-model configured'));
    samples.catch((err: Error) => status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }));

    const emit = (): boolean => {
      if (!set || (limit && sent >= limit)) return false;
      const i = next;
      next = (next + 1) % set.count;
      sent++;
      // A copy: downstream nodes may keep or alter the payload.
      // Placeholder labels (a bundle whose task answers more than a class) would score every answer wrong.
      this.send({ payload: Buffer.from(sampleImage(set, i)), ...(set.labelled ? { label: set.labels[i] } : {}), sampleIndex: i, capturedAt: Date.now() });
      status.update();
      return true;
    };
    const stop = () => { if (timer) clearInterval(timer); timer = null; status.now(); };
    // Frames due since the clock started: a timer fires at most every ms, so a rate above
    // 1,000/s (an overload test) sends several per tick, at most 5 ms worth, so a busy loop
    // does not turn into bursts that a pause would come too late for; a pause restarts the clock.
    let clock = { at: 0, sent: 0 };
    const tick = () => {
      if (held) return;
      const due = Math.min(Math.floor(((performance.now() - clock.at) * fps) / 1000) - clock.sent, Math.ceil(fps / 200));
      for (let k = 0; k < due; k++, clock.sent++) if (!emit()) return stop();
    };
    const start = () => {
      if (timer) return;
      clock = { at: performance.now(), sent: 0 };
      timer = setInterval(tick, Math.max(1, 1000 / fps));
      status.now();
    };
    // A count ("send N now") goes out in small turns, so split-head's pause can arrive between
    // them; what a pause holds back goes out on resume instead of being shed.
    let owed = 0;
    // One pending turn at most: a resume while a turn is scheduled must not start a second chain.
    let turn: NodeJS.Timeout | null = null;
    const drain = () => {
      turn = null;
      for (let k = 0; k < BURST_TURN && owed > 0 && !held; k++, owed--) if (!emit()) { owed = 0; break; }
      if (owed > 0 && !held) turn = setTimeout(drain, 1);
    };
    const hold = (on: boolean) => {
      if (held === on) return;
      held = on;
      if (!on) { clock = { at: performance.now(), sent: 0 }; if (!turn) drain(); }
      status.now();
    };
    if (def.autostart) samples.then(start, () => undefined);

    handleInput(this, status, async (msg) => {
      await samples;
      const cmd = msg.payload;
      if (cmd === 'start') start();
      else if (cmd === 'stop') stop();
      else if (cmd === 'pause') hold(true);
      else if (cmd === 'resume') hold(false);
      else if (cmd === 'reset') { next = 0; sent = 0; owed = 0; status.now(); }
      else if (typeof cmd === 'number' && Number.isInteger(cmd) && cmd > 0) { owed += cmd; if (!turn) drain(); }
      else throw new Error(`msg.payload must be "start", "stop", "pause", "resume", "reset" or a count of frames to send now, got ${JSON.stringify(cmd)}`);
    });
    this.on('close', () => { stop(); owed = 0; if (turn) clearTimeout(turn); status.stop(); });
  }
  RED.nodes.registerType('sample-source', SampleSource);
}

module.exports = register;
