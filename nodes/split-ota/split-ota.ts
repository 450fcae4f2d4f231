// split-ota: over-the-air model updates for the split-model it names. On a gateway it
// switches to a verified, sample-checked version between two frames and rolls back on
// errors; on a tail it loads new versions beside the old ones. The logic is lib/ota's.
import * as fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { OtaAgent, OtaReport } from '../../lib/ota/agent';
import { readPublicKey, keyId } from '../../lib/ota/signing';
import { StatusLine } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';
import type { SplitLinkNode } from '../split-link/split-link';

interface OtaDef extends NodeDef {
  model: string; link: string; role: 'gateway' | 'tail'; groups: string; publicKey: string;
  probationAnswers: string; probationSeconds: string; maxErrors: string;
}

/** The pinned key: the node's setting, else `splitDnn.otaPublicKey` in the settings, else the environment. A PEM or a file holding one. */
function pinnedKey(RED: NodeAPI, def: OtaDef): KeyObject | null {
  const settings = (RED.settings as unknown as { splitDnn?: { otaPublicKey?: string } }).splitDnn;
  const value = def.publicKey || settings?.otaPublicKey || process.env.SPLIT_DNN_OTA_PUBLIC_KEY || '';
  if (!value) return null;
  return readPublicKey(value.includes('BEGIN PUBLIC KEY') ? value : fs.readFileSync(value));
}

export interface SplitOtaNode extends Node { agent: Promise<OtaAgent> }

const COLORS: Record<string, 'green' | 'yellow' | 'red' | 'blue'> = { committed: 'green', added: 'green', current: 'green', switched: 'blue', downloading: 'blue', verified: 'blue', refused: 'red', 'rolled-back': 'red' };

function register(RED: NodeAPI): void {
  function SplitOta(this: SplitOtaNode, def: OtaDef) {
    RED.nodes.createNode(this, def);
    const model = RED.nodes.getNode(def.model) as SplitModelNode | null;
    const link = RED.nodes.getNode(def.link) as SplitLinkNode | null;
    const status = new StatusLine(this, () => ({ fill: 'grey', shape: 'ring', text: 'split-ota.status.waiting' }));
    this.agent = (async () => {
      if (!model || !link) throw new Error('split-ota needs a split-model and a split-link');
      if (!model.otaStateDir) throw new Error('no Node-RED user dir: updates have nowhere to live');
      const key = pinnedKey(RED, def);
      await model.runtime;
      const channel = def.role === 'tail' ? await link.cloud() : await link.edge();
      const agent = new OtaAgent({
        channel, slot: model.slot, slotKey: model.bundleDir, stateDir: model.otaStateDir, publicKey: key,
        mode: def.role === 'tail' ? 'add' : 'switch',
        groups: String(def.groups ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        probation: { answers: Number(def.probationAnswers) || undefined, ms: Number(def.probationSeconds) ? Number(def.probationSeconds) * 1000 : undefined, maxErrors: Number(def.maxErrors) || undefined },
      });
      agent.on('report', (r: OtaReport) => {
        const text = `${r.state} ${r.version} (${r.modelId.slice(0, 8)})${r.state === 'downloading' && r.progress ? ` ${Math.round((100 * (r.progress as { bytes: number; total: number }).bytes) / (r.progress as { total: number }).total)}%` : ''}`;
        status.set({ fill: COLORS[r.state] ?? 'grey', shape: 'dot', text });
        if (r.state === 'refused' || r.state === 'rolled-back') this.warn(`update ${r.name} ${r.version} (${r.modelId}) ${r.state} at ${r.step}: ${r.reason}`);
        else if (r.state !== 'downloading') this.log(`update ${r.name} ${r.version} (${r.modelId}) ${r.state}${r.from ? ` (was ${r.from})` : ''}`);
        this.send({ topic: r.state, payload: r });
      });
      agent.start();
      agent.resumeStaged();
      status.set(key ? { fill: 'grey', shape: 'dot', text: RED._('split-ota.status.trusting', { key: keyId(key) }) } : { fill: 'yellow', shape: 'ring', text: 'split-ota.status.noKey' });
      // Secure by default, not an error: a runtime without a pinned key simply takes no updates.
      if (!key) this.log('updates off: no signing key pinned (splitDnn.otaPublicKey in settings, SPLIT_DNN_OTA_PUBLIC_KEY, or the node): every update will be refused');
      return agent;
    })();
    this.agent.catch((err: Error) => { status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }); this.error(err.message); });
    this.on('close', (_removed: boolean, done: () => void) => {
      status.stop();
      this.agent.then((a) => a.close(), () => undefined).then(() => done());
    });
  }
  RED.nodes.registerType('split-ota', SplitOta);
}

module.exports = register;
