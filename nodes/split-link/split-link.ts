// Config node: one MQTT connection per role (edge, cloud) to a broker, shared by the
// mqtt-transmit nodes that name it. Credentials are Node-RED credentials, never flow
// properties, so they are encrypted with credentialSecret and not exported.
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { EdgeLink } from '../../lib/link/edge-link';
import { LINK_PROFILES, coalesceOf } from '../../lib/link/profiles';
import { CloudLink } from '../../lib/link/cloud-link';
import type { LinkSettings } from '../../lib/link/connect';

interface SplitLinkDef extends NodeDef {
  broker: string; protocol: string; clientId: string; gateway: string; group: string;
  verifyServer: boolean; caFile: string; certFile: string; keyFile: string;
  outboxDir: string; outboxMaxFrames: string; window: string; resendAfter: string; batch: string; keepalive: string;
  coalesce?: string; answerForm?: 'compact' | 'json'; profile?: string;
}
interface SplitLinkCredentials { username?: string; password?: string }

export interface SplitLinkNode extends Node<SplitLinkCredentials> {
  gateway: string;
  edge(): Promise<EdgeLink>;
  cloud(): Promise<CloudLink>;
}

function register(RED: NodeAPI): void {
  function SplitLink(this: SplitLinkNode, def: SplitLinkDef) {
    RED.nodes.createNode(this, def);
    this.gateway = def.gateway || process.env.SPLIT_DNN_GATEWAY || 'gateway';
    // A gateway keeps one client id across restarts, so its new session takes over a
    // half-open old one (and the old will fires before the new birth, not after it).
    // Tails share a gateway id default, so theirs stay unique.
    const clientId = (suffix: string) => def.clientId ? `${def.clientId}-${suffix}`
      : `split-dnn-${this.gateway}-${suffix}${suffix === 'edge' ? '' : `-${Math.random().toString(16).slice(2, 6)}`}`;
    // A fleet can hand every runtime its broker login through the environment instead.
    const username = this.credentials?.username || process.env.SPLIT_DNN_MQTT_USERNAME;
    const password = this.credentials?.password || process.env.SPLIT_DNN_MQTT_PASSWORD;
    // A named profile sets the byte/latency trade-off as a whole; none (custom) takes the fields.
    const profile = def.profile ? LINK_PROFILES[def.profile] : undefined;
    if (def.profile && !profile) this.warn(`unknown link profile "${def.profile}": using the fields`);
    const settings = (suffix: string): LinkSettings => ({
      url: def.broker || 'mqtt://127.0.0.1:1883',
      protocolVersion: def.protocol === '4' ? 4 : 5,
      clientId: clientId(suffix),
      username,
      password,
      caFile: def.caFile || undefined,
      certFile: def.certFile || undefined,
      keyFile: def.keyFile || undefined,
      verifyServer: def.verifyServer !== false,
      keepalive: profile?.keepaliveS ?? (Number(def.keepalive) || undefined),
    });
    const outboxDir = def.outboxDir
      ? path.resolve(RED.settings.userDir ?? '.', def.outboxDir)
      : undefined;
    let edge: Promise<EdgeLink> | null = null;
    let cloud: Promise<CloudLink> | null = null;

    this.edge = () => (edge ??= EdgeLink.open({
      settings: settings('edge'),
      gateway: this.gateway,
      outbox: { dir: outboxDir ? path.join(outboxDir, this.gateway) : undefined, maxFrames: Number(def.outboxMaxFrames) || undefined },
      window: Number(def.window) || undefined,
      resendAfterMs: Number(def.resendAfter) ? Number(def.resendAfter) * 1000 : undefined,
      maxBatch: Number(def.batch) || undefined,
      coalesceMs: profile?.coalesceMs ?? coalesceOf(def.coalesce, (m) => this.warn(m)),
    }));
    this.cloud = () => (cloud ??= CloudLink.open({
      settings: settings('cloud'), name: this.gateway, group: def.group === '' ? null : def.group || undefined, jsonAnswers: def.answerForm === 'json',
    }));

    this.on('close', (_removed: boolean, done: () => void) => {
      const closing = [edge?.then((l) => l.close()), cloud?.then((l) => l.close())];
      Promise.allSettled(closing).then(() => done());
    });
  }
  RED.nodes.registerType<SplitLinkNode, SplitLinkDef, object, SplitLinkCredentials>('split-link', SplitLink, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
}

module.exports = register;
