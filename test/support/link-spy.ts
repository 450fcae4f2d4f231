// A listener on one gateway's topics that reads what crossed the broker in either wire
// version: v1 as it is, v2 against the context of the gateway's (retained) birth.
import * as mqtt from 'mqtt';
import { decodeFrame, decodeFrameV2, Frame, framesOf, isFrameV2, LinkContext } from '../../lib/wire';
import { contextOfBirth } from '../../lib/link/wire-context';
import { parseTopic } from '../../lib/link/topics';

export interface LinkSpy {
  client: mqtt.MqttClient;
  /** Features messages as they crossed (one frame or a batch), v1 or v2. */
  up: Buffer[];
  /** Answer messages, v1 or v2. */
  down: Buffer[];
  /** The features frames of `up`, decoded. */
  frames(): Frame[];
  /** Seqs of the answers in `down`. */
  answerSeqs(): number[];
  end(): Promise<void>;
}

export async function spyOnGateway(url: string, gateway: string, protocolVersion: 4 | 5 = 4): Promise<LinkSpy> {
  const client = await mqtt.connectAsync(url, { protocolVersion });
  let ctx: LinkContext | null = null;
  const up: { topic: string; payload: Buffer; ctx: LinkContext | null }[] = [];
  const down: { payload: Buffer; ctx: LinkContext | null }[] = [];
  client.on('message', (topic, payload) => {
    const kind = parseTopic(topic)?.kind;
    if (kind === 'state') {
      try { ctx = contextOfBirth(gateway, decodeFrame(payload)) ?? ctx; } catch { /* a death */ }
    } else if (kind === 'features' || kind === 'frames') up.push({ topic, payload, ctx });
    else if (kind === 'results' || kind === 'answers') down.push({ payload, ctx });
  });
  await client.subscribeAsync(`split/${gateway}/#`, { qos: 1 });
  const read = (bytes: Buffer, c: LinkContext | null) => (isFrameV2(bytes) && c ? decodeFrameV2(bytes, c) : null);
  return {
    client,
    get up() { return up.map((m) => m.payload); },
    get down() { return down.map((m) => m.payload); },
    frames: () => up.flatMap((m) => framesOf(m.payload).map((f) => {
      const v2 = read(f, m.ctx);
      return v2 ? (v2 as { frame: Frame }).frame : decodeFrame(f);
    })),
    answerSeqs: () => down.flatMap((m) => framesOf(m.payload).map((a) => {
      const v2 = read(a, m.ctx);
      return v2 && v2.kind !== 'features' ? v2.seq : decodeFrame(a).seq;
    })),
    end: () => client.endAsync(),
  };
}
