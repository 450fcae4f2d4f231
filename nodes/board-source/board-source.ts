// board-source: sensors on a gateway-board → messages. Analog pins give readings (one
// value per pin) or windows of samples (an analog IMU's axes, a vibration trace); a digital
// pin (PIR, button) gives trigger messages, e.g. to start a camera-source capture.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AnalogSampler, AnalogReading, AnalogWindow, DigitalTrigger, TriggerEvent, TriggerEdge, parsePin, parsePins } from '../../hardware/sensors';
import { handleInput, StatusLine, short, statusParts } from '../common/node-kit';
import { boardStatus, GatewayBoardNode } from '../gateway-board/board-status';

interface BoardSourceDef extends NodeDef {
  board: string; mode: 'analog' | 'trigger'; pins: string; period: string; window: string; overlap: string;
  edge: TriggerEdge; pullup: boolean; invert: boolean; debounce: string; topic: string;
}

function register(RED: NodeAPI): void {
  function BoardSource(this: Node, def: BoardSourceDef) {
    RED.nodes.createNode(this, def);
    const board = RED.nodes.getNode(def.board) as GatewayBoardNode | null;
    const connection = board?.connection ?? null;
    let sent = 0;
    let paused = false;
    // Paused by split-head's backpressure output (apart from a user's stop, so resume does not undo it).
    let held = false;
    let problem: string | null = null;
    const status = new StatusLine(this, () => problem ? { fill: 'red', shape: 'ring', text: problem }
      : boardStatus(RED._, board, () => statusParts(
        (paused || held) && RED._('board-source.status.paused'),
        RED._(def.mode === 'trigger' ? 'board-source.status.triggers' : 'board-source.status.readings', { n: short(sent) }))));
    const send = (msg: object) => {
      if (paused || held) return;
      sent++;
      this.send({ topic: def.topic || undefined, ...msg });
      status.update();
    };

    const repaint = () => status.now();
    let source: AnalogSampler | DigitalTrigger | null = null;
    if (connection) {
      try {
        if (def.mode === 'trigger') {
          const trigger = new DigitalTrigger(connection, { pin: parsePin(def.pins), edge: def.edge || 'rising', pullup: !!def.pullup, invert: !!def.invert, debounceMs: Number(def.debounce) || 0 });
          trigger.on('trigger', (t: TriggerEvent) => send({ payload: t.active, pin: t.pin, count: t.count, capturedAt: t.at }));
          source = trigger;
        } else {
          const sampler = new AnalogSampler(connection, { pins: parsePins(def.pins || 'A0'), periodMs: Number(def.period) || 100, window: Number(def.window) || 1, overlap: Number(def.overlap) || 0 });
          sampler.on('reading', (r: AnalogReading) => send({ payload: r.values.length === 1 ? r.values[0] : r.values, pins: r.pins, capturedAt: r.at }));
          sampler.on('window', (w: AnalogWindow) => send({ payload: w.data, shape: w.shape, pins: w.pins, startedAt: w.startedAt, capturedAt: w.at }));
          source = sampler;
        }
      } catch (err) {
        problem = (err as Error).message.slice(0, 40);
        this.error(`board-source: ${(err as Error).message}`);
      }
      connection.on('state', repaint);
    }
    status.now();

    handleInput(this, status, async (msg) => {
      if (msg.payload === 'stop') paused = true;
      else if (msg.payload === 'start') paused = false;
      else if (msg.payload === 'pause' || msg.payload === 'resume') held = msg.payload === 'pause';
      else throw new Error(`msg.payload must be "start" or "stop" (pause and resume the messages), or "pause"/"resume" (split-head's backpressure), got ${JSON.stringify(msg.payload)}`);
      status.now();
    });

    this.on('close', () => {
      source?.close();
      connection?.off('state', repaint);
      status.stop();
    });
  }
  RED.nodes.registerType('board-source', BoardSource);
}

module.exports = register;
