// What the nodes that use a gateway-board share: its runtime shape and their status line.
// (A separate module: a node's own file exports only its register function.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node, NodeStatus } from 'node-red';
import type { BoardConnection } from '../../hardware/board';
import type { Say } from '../common/node-kit';

export interface GatewayBoardNode extends Node {
  /** Null when the configuration is unusable (the reason is in `problem`). */
  connection: BoardConnection | null;
  problem: string | null;
}

/** A consumer's status: the board's state first, then what the consumer has to say. */
export function boardStatus(say: Say, board: GatewayBoardNode | null, ok: () => string): NodeStatus {
  if (!board) return { fill: 'red', shape: 'ring', text: 'node-red-contrib-split-dnn/gateway-board:gateway-board.status.none' };
  const c = board.connection;
  if (!c) return { fill: 'red', shape: 'ring', text: board.problem ?? 'node-red-contrib-split-dnn/gateway-board:gateway-board.status.unusable' };
  if (c.state === 'ready') return { fill: 'green', shape: 'dot', text: ok() };
  if (c.state === 'lost') return { fill: 'red', shape: 'ring', text: say('node-red-contrib-split-dnn/gateway-board:gateway-board.status.lost', { error: c.lastError?.message ?? '' }).slice(0, 40) };
  return { fill: 'yellow', shape: 'ring', text: say('node-red-contrib-split-dnn/gateway-board:gateway-board.status.connecting', { board: c.description }).slice(0, 40) };
}

/** Serial devices a Firmata board may sit on, by stable id first (for the editor's list). */
export function serialCandidates(): string[] {
  const byId = '/dev/serial/by-id';
  const stable = fs.existsSync(byId) ? fs.readdirSync(byId).map((f) => path.join(byId, f)) : [];
  const dev = fs.existsSync('/dev') ? fs.readdirSync('/dev').filter((f) => /^(ttyACM|ttyUSB|ttyAMA|cu\.usb|tty\.usb)/.test(f)).map((f) => `/dev/${f}`) : [];
  return [...stable, ...dev];
}

