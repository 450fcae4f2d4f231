// node-red-node-test-helper set up for this package's nodes: load a flow, wait for the
// bundle to load, and collect what reaches helper and catch nodes.
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import type { NodeAPI, NodeMessage } from 'node-red';
import { i18n as nodeRedI18n } from '@node-red/util';

helper.init(require.resolve('node-red'));

const MODULE = 'node-red-contrib-split-dnn';
// The typings leave out the loader's half of the API.
const i18n = nodeRedI18n as typeof nodeRedI18n & {
  init(settings: object): void;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
};
i18n.init({ lang: 'en-US' });

/**
 * A node module as Node-RED's loader gives it: `RED._` bound to the node's own catalog
 * (the helper's is the identity), so status lines read as the editor would show them.
 */
export function nodeModule(type: string): (red: NodeAPI) => Promise<void> {
  const register = require(`../../nodes/${type}/${type}`) as (red: NodeAPI) => void;
  const dir = path.join(__dirname, '..', '..', 'nodes', type, 'locales');
  const catalog = i18n.registerMessageCatalog(`${MODULE}/${type}`, dir, `${type}.json`);
  return async (red) => {
    await catalog;
    const say = (id: string, fields?: Record<string, string | number>) => i18n._(id.includes(':') ? id : `${MODULE}/${type}:${id}`, fields);
    register(Object.create(red, { _: { value: say } }) as NodeAPI);
  };
}

export const ALL_NODES = [
  'split-model', 'split-link', 'sample-source', 'split-head', 'early-exit-gate', 'bottleneck-encode', 'mqtt-transmit', 'tail-infer', 'split-stats', 'split-ota', 'split-health',
].map(nodeModule);

// Core nodes the shipped flows use besides ours (the helper preloads only catch/status/complete).
export const CORE_NODES = ['common/21-debug.js', 'common/90-comment.js', 'common/60-link.js', 'function/15-change.js'].map((file) => require(`@node-red/nodes/core/${file}`));

export { helper };

export async function startRed(): Promise<void> {
  await new Promise<void>((resolve) => helper.startServer(resolve));
}

export async function stopRed(): Promise<void> {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(resolve));
}

export async function loadFlow(flow: object[], credentials?: Record<string, object>): Promise<void> {
  await helper.load([...ALL_NODES, ...CORE_NODES], flow, credentials ?? {});
}

/** Messages that reach a helper node, with a way to wait for a count of them. */
export class Collector {
  readonly messages: NodeMessage[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(nodeId: string) {
    helper.getNode(nodeId).on('input', (msg: NodeMessage) => {
      msg.arrivedAt = Date.now();
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => (this.messages.length >= w.count ? (w.resolve(), false) : true));
    });
  }

  wait(count: number, timeoutMs = 20_000): Promise<NodeMessage[]> {
    if (this.messages.length >= count) return Promise.resolve(this.messages);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${this.messages.length} of ${count} messages`)), timeoutMs);
      this.waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(this.messages); } });
    });
  }
}

/** Resolves once the split-model config node has its runtime (or rejects with why not). */
export async function modelReady(id = 'model'): Promise<void> {
  await (helper.getNode(id) as unknown as { runtime: Promise<unknown> }).runtime;
}

export const modelNode = (bundle: string) => ({ id: 'model', type: 'split-model', bundle });
export const tab = { id: 'f1', type: 'tab', label: 'test' };
// Ids must not equal a type name: Node-RED would take 'catch' for a config node reference.
export const catcher = [{ id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] }, { id: 'caught', type: 'helper', z: 'f1' }];
