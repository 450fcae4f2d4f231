// Config node: a model bundle folder → one shared ModelRuntime (ORT sessions in worker
// threads), loaded once however many nodes name it, released when the last one closes.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { acquireRuntime, releaseRuntime, ModelRuntime } from '../../lib/model';
import { resolveBundleDir } from '../common/node-kit';

export interface SplitModelDef extends NodeDef { bundle: string; workers: string | number }

export interface SplitModelNode extends Node {
  bundleDir: string;
  /** Resolves when the bundle is verified and every session is loaded; rejects with why not. */
  runtime: Promise<ModelRuntime>;
}

function register(RED: NodeAPI): void {
  function SplitModel(this: SplitModelNode, def: SplitModelDef) {
    RED.nodes.createNode(this, def);
    this.bundleDir = resolveBundleDir(def.bundle || 'models/fmnist-cnn', RED.settings.userDir);
    const workers = Number(def.workers) || undefined;
    this.runtime = acquireRuntime(this.bundleDir, { workers });
    this.runtime.then(
      (rt) => this.log(`bundle ${rt.manifest.name} ${rt.manifest.version} (model ${rt.modelId}) loaded from ${this.bundleDir}`),
      (err: Error) => this.error(`cannot load bundle ${this.bundleDir}: ${err.message}`),
    );
    this.on('close', (_removed: boolean, done: () => void) => {
      releaseRuntime(this.bundleDir).then(done, done);
    });
  }
  RED.nodes.registerType('split-model', SplitModel);
}

module.exports = register;
