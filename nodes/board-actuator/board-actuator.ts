// board-actuator: classification results → an LED, a relay or a servo on a gateway-board.
// The mapping (which labels, what confidence, on-off or proportional) is the node's config.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Actuator, ActuatorKind, ActuatorMapping, classResultFor } from '../../hardware/actuators';
import { parsePin } from '../../hardware/sensors';
import { handleInput, StatusLine, short } from '../common/node-kit';
import { boardStatus, GatewayBoardNode } from '../gateway-board/board-status';

interface BoardActuatorDef extends NodeDef {
  board: string; kind: ActuatorKind; pin: string; labels: string; minConfidence: string;
  drive: ActuatorMapping['drive']; normallyClosed: boolean; angleMin: string; angleMax: string; labelAngles: string;
}

/** "Bag=45, Sneaker=135" → { Bag: 45, Sneaker: 135 }. */
function parseLabelAngles(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (text || '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*=\s*(-?\d+(?:\.\d+)?)$/.exec(part);
    if (!m) throw new Error(`label angle "${part}" must look like Label=90`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

function mappingFromConfig(def: BoardActuatorDef): ActuatorMapping {
  return {
    kind: def.kind || 'led',
    pin: parsePin(def.pin || '13'),
    labels: (def.labels || '').split(',').map((l) => l.trim()).filter(Boolean),
    minConfidence: def.minConfidence === '' || def.minConfidence === undefined ? 0 : Number(def.minConfidence),
    drive: def.drive || 'on-off',
    normallyClosed: !!def.normallyClosed,
    angleRange: [Number(def.angleMin || 0), Number(def.angleMax || 180)],
    labelAngles: parseLabelAngles(def.labelAngles),
  };
}

function register(RED: NodeAPI): void {
  function BoardActuator(this: Node, def: BoardActuatorDef) {
    RED.nodes.createNode(this, def);
    const board = RED.nodes.getNode(def.board) as GatewayBoardNode | null;
    const connection = board?.connection ?? null;
    let handled = 0;
    let lastText = '';
    let actuator: Actuator | null = null;
    let problem: string | null = null;
    const status = new StatusLine(this, () => problem ? { fill: 'red', shape: 'ring', text: problem }
      : boardStatus(RED._, board, () => RED._('board-actuator.status.handled', { last: lastText || RED._('board-actuator.status.waiting'), n: short(handled) })));
    if (connection) {
      try {
        actuator = new Actuator(connection, mappingFromConfig(def));
      } catch (err) {
        problem = (err as Error).message.slice(0, 40);
        this.error(`board-actuator: ${(err as Error).message}`);
      }
    }
    const repaint = () => status.now();
    connection?.on('state', repaint);
    status.now();

    handleInput(this, status, async (msg, send) => {
      if (!actuator) throw new Error(problem ?? (board ? `gateway-board: ${board.problem}` : 'board-actuator has no gateway-board configured'));
      const result = msg.payload as { error?: unknown };
      if (result && typeof result === 'object' && 'error' in result) {
        // A frame the cloud could not classify: nothing to act on; the output keeps its state.
        send(msg);
        return;
      }
      const found = classResultFor(actuator.mapping, msg.payload);
      if (!found) {
        throw new Error(`msg.payload must be a result {label, confidence 0..1, index?}, {positive: [...]} or {detections: [...]} as early-exit-gate or mqtt-transmit send it, got ${JSON.stringify(msg.payload)?.slice(0, 80)}`);
      }
      const cmd = actuator.handle(found);
      handled++;
      lastText = cmd.kind === 'servo' ? `${cmd.angle}°` : cmd.kind === 'led' && def.drive === 'confidence' ? `${cmd.brightness}/255` : cmd.on ? 'on' : 'off';
      (msg as Record<string, unknown>).actuator = { ...cmd, pin: actuator.mapping.pin, applied: actuator.connected };
      status.update();
      send(msg);
    });

    this.on('close', () => {
      actuator?.close();
      connection?.off('state', repaint);
      status.stop();
    });
  }
  RED.nodes.registerType('board-actuator', BoardActuator);
}

module.exports = register;
