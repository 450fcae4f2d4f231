// Config node: one Firmata board on a serial port, shared by every board-source and
// board-actuator that names it; reconnects by itself, released on close.
import type { NodeAPI, NodeDef } from 'node-red';
import { BoardConnection, BoardOptions } from '../../hardware/board';
import { GatewayBoardNode, serialCandidates } from './board-status';

export interface GatewayBoardDef extends NodeDef { port: string; baud: string; reconnect: string }

/**
 * Runtime settings a test or an unusual gateway can set (settings.js): a serial binding to
 * use instead of the OS's (`@serialport/binding-mock` in tests, a TCP bridge), or an IO
 * plugin factory instead of Firmata over serial (raspi-io, mock-firmata).
 */
interface BoardSettings { gatewayBoardBinding?: BoardOptions['binding']; gatewayBoardIo?: BoardOptions['io'] }

function register(RED: NodeAPI): void {
  function GatewayBoard(this: GatewayBoardNode, def: GatewayBoardDef) {
    RED.nodes.createNode(this, def);
    const settings = RED.settings as unknown as BoardSettings;
    this.connection = null;
    this.problem = null;
    try {
      const baudRate = Number(def.baud) || 57600;
      const reconnectMs = Math.max(200, Number(def.reconnect) * 1000 || 2000);
      this.connection = new BoardConnection({ path: def.port?.trim(), baudRate, reconnectMs, binding: settings.gatewayBoardBinding, io: settings.gatewayBoardIo, id: this.id });
    } catch (err) {
      this.problem = (err as Error).message;
      this.error(`gateway-board: ${this.problem}`);
      return;
    }
    const connection = this.connection;
    let lost = false;
    connection.on('state', (state: string, err?: Error) => {
      if (state === 'ready') {
        this.log(`board on ${connection.description} ready${connection.connections > 1 ? ' again' : ''}`);
        lost = false;
      } else if (state === 'lost' && !lost) {
        // Once per loss, not on every failed retry while the cable is out.
        lost = true;
        this.warn(`board on ${connection.description} lost: ${err?.message}; retrying`);
      }
    });
    this.on('close', (_removed: boolean, done: () => void) => {
      connection.close().then(done, done);
    });
  }
  RED.nodes.registerType('gateway-board', GatewayBoard);

  RED.httpAdmin.get('/gateway-board/ports', RED.auth.needsPermission('gateway-board.read'), (_req, res) => {
    try { res.json(serialCandidates()); } catch (err) { res.status(500).json({ error: (err as Error).message }); }
  });
}

module.exports = register;
