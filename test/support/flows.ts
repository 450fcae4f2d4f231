// The shipped flow files, adapted for a test: env substituted by Node-RED itself, chosen
// nodes swapped for helpers so the test can see what reaches them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './paths';

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export function readFlow(name: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(REPO, 'flows', name), 'utf8'));
}

export function patch(flow: FlowNode[], id: string, changes: Record<string, unknown>): FlowNode[] {
  const node = flow.find((n) => n.id === id);
  if (!node) throw new Error(`flow has no node ${id}`);
  Object.assign(node, changes);
  return flow;
}

/** Replace a node by a helper with the same id (and so the same incoming wires). */
export function asHelper(flow: FlowNode[], id: string): FlowNode[] {
  return flow.map((n) => (n.id === id ? { id, type: 'helper', z: n.z, wires: [] } : n));
}

/** Also wire a node's output `port` to another node. */
export function tap(flow: FlowNode[], from: string, to: string, port = 0): FlowNode[] {
  const node = flow.find((n) => n.id === from)!;
  (node.wires as string[][])[port].push(to);
  return flow;
}

/**
 * The flow without its Dashboard 2.0 nodes (ui-*), for node-red-node-test-helper, which
 * loads only this package's and a few core nodes. Wires into them go too.
 */
export function withoutDashboard(flow: FlowNode[]): FlowNode[] {
  const ui = new Set(flow.filter((n) => n.type.startsWith('ui-')).map((n) => n.id));
  return flow.filter((n) => !ui.has(n.id)).map((n) => (Array.isArray(n.wires)
    ? { ...n, wires: (n.wires as string[][]).map((port) => port.filter((id) => !ui.has(id))) }
    : n));
}
