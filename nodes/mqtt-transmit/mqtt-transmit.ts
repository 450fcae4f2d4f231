// mqtt-transmit: the link endpoint. On the edge it takes features frames into the durable
// outbox and emits the answers that come back; on the cloud it emits the frames that
// arrive and publishes the answers fed to it.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { EdgeLink } from '../../lib/link/edge-link';
import { frameKey, Gap, Recovery, Reset } from '../../lib/link/sequence';
import type { Refusal } from '../../lib/link/identity';
import { BoundedMap } from '../../lib/link/bounded-map';
import type { CloudLink, GatewayState } from '../../lib/link/cloud-link';
import { FRAME_FLAGS, type Frame } from '../../lib/wire';
import { auditRoutes, auditTag, type AuditTag } from '../../lib/exit/ledger';
import { handleInput, LogThrottle, StatusLine, short, statusParts } from '../common/node-kit';
import type { SplitLinkNode } from '../split-link/split-link';

interface TransmitDef extends NodeDef { link: string; role: 'edge' | 'cloud' }

/** Labels and capture times of frames in flight, so answers can be scored on the edge. */
const MAX_CONTEXT = 100_000;

function register(RED: NodeAPI): void {
  function MqttTransmit(this: Node, def: TransmitDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.link) as SplitLinkNode | null;
    const role = def.role === 'cloud' ? 'cloud' : 'edge';
    let state = 'connecting';
    let lastError: string | null = null;
    let edge: EdgeLink | null = null;
    let cloud: CloudLink | null = null;
    const status = new StatusLine(this, () => {
      const up = state === 'connected';
      const e = edge?.stats();
      const c = cloud?.stats();
      const refused = (e ? e.malformedAnswers + e.refusedAnswers : 0) + (c ? c.malformed + c.forged : 0);
      const said = RED._('mqtt-transmit.state.' + state);
      const text = statusParts(said, ...(role === 'edge'
        // Frame bytes as the link sends them (v2 once a tail answered in v2), link bytes from the socket, both ways.
        ? [RED._('mqtt-transmit.status.pending', { n: short(edge?.outbox.size ?? 0) }),
          !!e?.dropped && RED._('mqtt-transmit.status.dropped', { n: e.dropped }),
          !!e?.published && RED._('mqtt-transmit.status.frameBytes', { bytes: (e.frameBytesSent / e.published).toFixed(1), wire: e.wire }),
          !!e?.published && RED._('mqtt-transmit.status.linkBytes', { bytes: short(e.linkBytesSent + e.linkBytesReceived) })]
        : [RED._('mqtt-transmit.status.framesIn', { n: short(c?.received ?? 0) }),
          !!c?.gapsOpen && RED._('mqtt-transmit.status.missing', { n: c.gapsOpen })]),
      refused > 0 && RED._('mqtt-transmit.status.refused', { n: short(refused) }));
      // Down: why. Up but refused something (an ACL, say): the counts and why, until the next reconnect.
      if (!up) return { fill: lastError ? 'red' : 'yellow', shape: 'ring', text: lastError ? `${said}: ${lastError}` : text };
      return { fill: lastError ? 'yellow' : 'green', shape: 'dot', text: lastError ? `${text}; ${lastError}` : text };
    });
    if (!config) {
      status.set({ fill: 'red', shape: 'ring', text: 'mqtt-transmit.status.noLink' });
      handleInput(this, status, async () => { throw new Error('mqtt-transmit has no split-link configured'); });
      return;
    }
    // Partial deploys replace this node but keep the config node and its link: every
    // listener goes again on close, or a stale node would emit answers twice.
    const detach: (() => void)[] = [];
    const listen = (link: EdgeLink | CloudLink, event: string, fn: (...args: any[]) => void) => {
      link.on(event, fn);
      detach.push(() => link.off(event, fn));
    };
    const context = new BoundedMap<string, { label?: unknown; capturedAt?: number; sampleIndex?: unknown; reference?: unknown; audit?: AuditTag | null }>(MAX_CONTEXT);
    const onState = (s: string) => {
      // Transitions in and out of connected, not every failed reconnect attempt.
      if (s !== state && (s === 'connected' || state === 'connected')) this.log(`link ${s}`);
      state = s;
      if (s === 'connected') lastError = null;
      status.now();
    };
    const throttle = new LogThrottle();
    // What peers send that is not taken: logged (a few lines however many), counted by the link.
    const onRefused = (r: Refusal) => {
      const line = throttle.line(`${r.reason}/${r.gateway}`, `refused ${r.reason === 'mismatch' ? 'an answer' : r.reason === 'forged' ? 'a forged frame' : 'a malformed message'} on ${r.topic}: ${r.detail}`);
      if (line) this.warn(line);
      status.update();
    };
    const onError = (err: Error) => {
      if (lastError !== err.message) this.warn(`link: ${err.message}`);
      lastError = err.message;
      status.now();
    };

    const ready: Promise<void> = role === 'edge'
      ? config.edge().then((link) => {
        edge = link;
        listen(link, 'state', onState);
        listen(link, 'link-error', onError);
        listen(link, 'refused', onRefused);
        listen(link, 'dropped', (n: number) => this.warn(`outbox full: dropped the ${n} oldest frame(s)`));
        listen(link, 'answer', (f: Frame) => {
          const key = frameKey(f);
          const ctx = context.get(key);
          context.delete(key);
          // The answer as the tail's task gave it (a class, labels, boxes, tensors); the
          // latency is the link's figure, not part of the answer.
          const { latencyMs: _cloudLatency, ...answer } = f.body ?? {};
          const msg: NodeMessage = {
            topic: `split/${f.gatewayId}/${f.modelId}/results`,
            payload: answer.error ? { error: answer.error, source: 'cloud' } : { ...answer, source: 'cloud' },
            frame: { gateway: f.gatewayId, bootId: f.bootId, seq: f.seq, rate: f.rateLevel, modelId: f.modelId, kind: f.kind },
            latencyMs: Date.now() - (ctx?.capturedAt ?? f.timestampMs),
            ...(ctx?.label !== undefined ? { label: ctx.label } : {}),
            ...(ctx?.sampleIndex !== undefined ? { sampleIndex: ctx.sampleIndex } : {}),
            ...(ctx?.reference !== undefined ? { reference: ctx.reference } : {}),
          };
          if (answer.error) this.warn(`cloud refused frame ${key}: ${String(answer.error)}`);
          // An audit's answer goes to its gate to compare; an audit copy's is never a result.
          if (ctx?.audit) auditRoutes.deliver(ctx.audit.gate, { id: ctx.audit.id, index: typeof answer.index === 'number' ? answer.index : null, ...(answer.error ? { error: String(answer.error) } : {}) });
          // The copy is known by its context, whatever the answer's wire version echoes; the flag covers a restart.
          if (ctx?.audit?.copy || ((f.flags ?? 0) & FRAME_FLAGS.audit) !== 0) { status.update(); return; }
          this.send(msg);
          status.update();
        });
        if (link.outbox.recoveredTornBytes) this.warn(`outbox: skipped a torn tail of ${link.outbox.recoveredTornBytes} bytes left by a crash`);
        if (link.outbox.size) this.log(`outbox: ${link.outbox.size} frames pending from before the restart; resending`);
        onState(link.stats().state);
      })
      : config.cloud().then((link) => {
        cloud = link;
        listen(link, 'state', onState);
        listen(link, 'link-error', onError);
        listen(link, 'refused', onRefused);
        listen(link, 'seq-reset', (r: Reset) => {
          const line = throttle.line(`reset/${r.gateway}`, `gateway ${r.gateway} (boot ${r.bootId}): seq jumped from ${r.from} to ${r.to}, too far for a gap; counted as a reset`);
          if (line) this.warn(line);
        });
        listen(link, 'frame', (payload: Buffer, topic: string) => {
          this.send({ topic, payload });
          status.update();
        });
        listen(link, 'gateway', (g: GatewayState) => this.log(`gateway ${g.gateway} is ${g.live ? 'live' : 'gone'} (boot ${g.bootId})`));
        listen(link, 'gap', (g: Gap) => {
          this.warn(`gateway ${g.gateway} (boot ${g.bootId}): ${g.count} frame(s) missing, seq ${g.from}..${g.to}`);
          status.update();
        });
        listen(link, 'gap-recovered', (r: Recovery) => this.log(`gateway ${r.gateway} (boot ${r.bootId}): ${r.count} missing frame(s) arrived late (resent)`));
        onState(link.stats().state);
      });
    ready.catch((err: Error) => { lastError = err.message; status.now(); this.error(`cannot open link: ${err.message}`); });

    handleInput(this, status, async (msg) => {
      await ready;
      if (!Buffer.isBuffer(msg.payload)) throw new Error(`msg.payload must be a wire frame (Buffer), got ${typeof msg.payload}`);
      if (role === 'edge') {
        const f = edge!.submit(msg.payload);
        context.set(frameKey(f), { label: msg.label, capturedAt: msg.capturedAt as number | undefined, sampleIndex: msg.sampleIndex, reference: msg.reference, audit: auditTag(msg.audit) });
      } else {
        // The answer goes to the gateway of the topic its frame came on, when it came over the link.
        const compact = msg.answer instanceof Uint8Array ? msg.answer : undefined; // tail-infer's compact answer
        cloud!.reply(msg.payload, typeof msg.topic === 'string' && msg.topic ? msg.topic : undefined, compact);
      }
      status.update();
    });

    this.on('close', () => { for (const off of detach) off(); status.stop(); });
  }
  RED.nodes.registerType('mqtt-transmit', MqttTransmit);
}

module.exports = register;
