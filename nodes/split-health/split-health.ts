// split-health: on a gateway (or tail) publishes the runtime's retained status and
// answers pings; on the cloud lists the fleet from everyone's status (output: one row per
// runtime for a table) and pings on request. The logic is lib/health's.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { FleetView, StatusReporter } from '../../lib/health/status';
import type { EdgeLink } from '../../lib/link/edge-link';
import type { CloudLink } from '../../lib/link/cloud-link';
import { handleInput, StatusLine } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';
import type { SplitLinkNode } from '../split-link/split-link';
import type { SplitOtaNode } from '../split-ota/split-ota';

interface HealthDef extends NodeDef { link: string; model: string; ota: string; role: 'edge' | 'cloud' | 'fleet'; interval: string }

function register(RED: NodeAPI): void {
  function SplitHealth(this: Node, def: HealthDef) {
    RED.nodes.createNode(this, def);
    const link = RED.nodes.getNode(def.link) as SplitLinkNode | null;
    const model = def.model ? RED.nodes.getNode(def.model) as SplitModelNode | null : null;
    const ota = def.ota ? RED.nodes.getNode(def.ota) as SplitOtaNode | null : null;
    let reporter: StatusReporter | null = null;
    let fleet: FleetView | null = null;
    let update: unknown = null;
    const status = new StatusLine(this, () => (fleet
      ? { fill: 'green', shape: 'dot', text: RED._('split-health.status.fleet', { n: fleet.entries.size, live: [...fleet.entries.values()].filter((e) => e.live).length }) }
      : { fill: 'green', shape: 'dot', text: RED._('split-health.status.published', { n: reporter?.published ?? 0 }) }));
    ota?.agent.then((a) => a.on('report', (r) => { update = r; reporter?.publish(); }), () => undefined);

    const ready = (async () => {
      if (!link) throw new Error('split-health needs a split-link');
      if (def.role === 'fleet') {
        fleet = new FleetView(await link.cloud());
        fleet.on('changed', (rows) => { this.send({ topic: 'fleet', payload: rows }); status.update(); });
        return;
      }
      const channel = def.role === 'cloud' ? await link.cloud() : await link.edge();
      const edge = def.role === 'cloud' ? null : channel as EdgeLink;
      reporter = new StatusReporter(channel, () => {
        const slot = model?.slot;
        const rt = slot?.hasCurrent ? slot.current : null;
        const s = edge?.stats();
        const cloud = def.role === 'cloud' ? (channel as CloudLink).stats() : null;
        return {
          role: def.role,
          bundle: rt ? { name: rt.manifest.name, version: rt.manifest.version, modelId: rt.modelId } : null,
          versions: slot?.ids() ?? [],
          update: update ?? null,
          outbox: s ? { pending: s.pending, dropped: s.dropped, durable: s.durable } : null,
          errors: {
            inference: [...(slot?.errors.values() ?? [])].reduce((a, b) => a + b, 0),
            inferenceFailures: rt ? rt.pool.getStats().errors : 0,
            dropped: s?.dropped ?? 0,
            missingFrames: cloud?.gapsOpen ?? 0,
            linkDown: s ? Number(s.state !== 'connected') : Number(cloud?.state !== 'connected'),
          },
        };
      }, (Number(def.interval) || 10) * 1000);
      status.update();
    })();
    ready.catch((err: Error) => { status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }); this.error(err.message); });

    handleInput(this, status, async (msg, send) => {
      await ready;
      if (fleet) {
        // msg.topic "ping" (msg.payload: a gateway, or empty for all) or anything else: the list now.
        if (msg.topic === 'ping') {
          const e = await fleet.ping(typeof msg.payload === 'string' && msg.payload ? msg.payload : null);
          send({ topic: 'pong', payload: { gateway: e.gateway, ms: e.lastPongMs, status: e.status } });
        } else send({ topic: 'fleet', payload: fleet.list() });
      } else {
        reporter!.publish();
        send({ topic: 'status', payload: reporter!.status() });
      }
    });
    this.on('close', () => { reporter?.close(); fleet?.close(); status.stop(); });
  }
  RED.nodes.registerType('split-health', SplitHealth);
}

module.exports = register;
