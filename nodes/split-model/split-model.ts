// Config node: a model bundle folder → a slot of shared ModelRuntimes (ORT sessions in
// worker threads), loaded once however many nodes name it, released when the last one
// closes. The slot holds a current version that an update (split-ota) replaces between
// two frames, and older versions beside it, so a tail decodes every gateway's frames.
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ModelRuntime, ModelSlot } from '../../lib/model';
import { bundlesToLoad, otaDir } from '../../lib/ota/state';
import { resolveBundleDir } from '../common/node-kit';

export interface SplitModelDef extends NodeDef { bundle: string; workers: string | number; versions?: string; maxVersions?: string | number }

export interface SplitModelNode extends Node {
  bundleDir: string;
  /** The current version once it is verified and loaded (rejects with why not). */
  runtime: Promise<ModelRuntime>;
  /** Every version held, by model id, and which is current: read `slot.current` per frame. */
  slot: ModelSlot;
  /** Where split-ota keeps its state for this runtime (null: no user dir, updates off). */
  otaStateDir: string | null;
}

/** The first folder that loads becomes current; a broken installed update falls back to the configured bundle. */
async function openSlot(node: SplitModelNode, current: string[], beside: string[]): Promise<ModelRuntime> {
  let lastError: Error | null = null;
  for (const dir of current) {
    try {
      const rt = await node.slot.load(dir);
      node.slot.activate(rt.modelId);
      break;
    } catch (err) {
      lastError = err as Error;
      if (dir !== current[current.length - 1]) node.warn(`cannot load installed update ${dir} (${lastError.message}); trying the next`);
    }
  }
  if (!node.slot.hasCurrent) throw lastError ?? new Error('no bundle to load');
  for (const dir of beside) {
    await node.slot.load(dir).catch((err: Error) => node.warn(`cannot load bundle ${dir} beside the current one: ${err.message}`));
  }
  return node.slot.current;
}

function register(RED: NodeAPI): void {
  function SplitModel(this: SplitModelNode, def: SplitModelDef) {
    RED.nodes.createNode(this, def);
    this.bundleDir = resolveBundleDir(def.bundle || 'models/fmnist-cnn', RED.settings.userDir);
    const run = (RED.settings as unknown as { splitDnn?: { role?: 'edge' | 'cloud' | 'all'; profile?: string } }).splitDnn;
    const small = run?.profile === 'small';
    const workers = Number(def.workers) || (small ? 1 : undefined);
    // The small profile runs its one inference thread inline: no second V8 isolate.
    this.slot = new ModelSlot({ workers, role: run?.role, maxBatch: small ? 32 : undefined, inline: small && workers === 1 ? true : undefined }, Number(def.maxVersions) || 3);
    this.otaStateDir = RED.settings.userDir ? otaDir(RED.settings.userDir) : null;
    const configuredBeside = String(def.versions ?? '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean)
      .map((d) => resolveBundleDir(d, RED.settings.userDir));
    const installed = this.otaStateDir ? bundlesToLoad(this.otaStateDir, this.bundleDir, this.bundleDir) : { current: [this.bundleDir], beside: [] };
    this.runtime = openSlot(this, installed.current, [...configuredBeside, ...installed.beside]);
    this.runtime.then(
      (rt) => this.log(`bundle ${rt.manifest.name} ${rt.manifest.version} (model ${rt.modelId}) loaded from ${path.relative(process.cwd(), rt.bundle.dir) || rt.bundle.dir}${this.slot.ids().length > 1 ? `; holding ${this.slot.ids().join(', ')}` : ''}`),
      (err: Error) => this.error(`cannot load bundle ${this.bundleDir}: ${err.message}`),
    );
    this.on('close', (_removed: boolean, done: () => void) => {
      this.runtime.catch(() => undefined).then(() => this.slot.close()).then(done, done);
    });
  }
  RED.nodes.registerType('split-model', SplitModel);
}

module.exports = register;
