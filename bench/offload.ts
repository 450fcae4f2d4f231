// `node dist/bench/offload.js edge|cloud ...`: the baseline the link bench compares the
// split pipeline with: the gateway sends each whole image, compressed as PNG or WebP, and
// the cloud runs the whole model (head + tail of the same bundle) on it.
//   edge  --broker URL --codec png|webp --fps N --frames N --gateway ID [--window N] [--quality Q]
//   cloud --broker URL --bundle DIR
// Images are encoded once at start (the gateway's encoder time is not what is compared);
// the cloud decodes every image it receives. Answers come back as seq (u32) + class (u8).
import mqtt from 'mqtt';
import { disableNagle } from '../lib/link/connect';
import { ModelRuntime, preprocessPixels, readSamples, sampleImage } from '../lib/model';
import { argmax } from '../lib/exit/policy';
import { ResultSeconds } from './link-results';
import { decodeImage, encodeImage, ImageCodec } from './image-codecs';
import { flag } from './flags';

/** A flag this role cannot do without (or its fallback). */
function arg(args: string[], name: string, fallback?: string): string {
  const value = flag(args, name) ?? fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

async function connect(url: string): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true, reconnectPeriod: 1000 });
  disableNagle(client);
  client.on('connect', () => disableNagle(client));
  return client;
}

async function edge(args: string[]): Promise<void> {
  const codec = arg(args, 'codec') as ImageCodec;
  const fps = Number(arg(args, 'fps'));
  const frames = Number(arg(args, 'frames'));
  const gateway = arg(args, 'gateway', 'offload');
  const window = Number(arg(args, 'window', '256'));
  const rt = await ModelRuntime.open(arg(args, 'bundle'), { workers: 1 });
  const set = await readSamples(rt.bundle);
  const src = rt.manifest.input.source;
  const size = { width: src.width, height: src.height, channels: src.channels as 1 | 3 };
  const quality = Number(arg(args, 'quality', '75'));
  const images = await Promise.all(Array.from({ length: set.count }, (_, i) => encodeImage(sampleImage(set, i), size, codec, quality)));
  await rt.close();
  const client = await connect(arg(args, 'broker'));
  const stats = new ResultSeconds((line) => console.log(line));
  const pending = new Map<number, { capturedAt: number; label: number }>();
  const queue: number[] = [];
  let inflight = 0;
  const pump = () => {
    while (inflight < window && queue.length) {
      const seq = queue.shift()!;
      const head = Buffer.alloc(4);
      head.writeUInt32LE(seq);
      inflight++;
      client.publish(`offload/${gateway}/image/${codec}`, Buffer.concat([head, images[seq % set.count]]), { qos: 1 });
    }
  };
  client.on('message', (_topic, payload) => {
    const seq = payload.readUInt32LE(0);
    const frame = pending.get(seq);
    if (!frame) return;
    pending.delete(seq);
    inflight--;
    stats.add({ latencyMs: Date.now() - frame.capturedAt, source: 'cloud', correct: payload[4] === frame.label });
    pump();
  });
  await client.subscribeAsync(`offload/${gateway}/results`, { qos: 1 });
  const avgBytes = images.reduce((n, b) => n + b.length, 0) / images.length;
  console.log(`offload ${codec}: ${images.length} images, ${avgBytes.toFixed(1)} B each on average; camera at ${fps}/s`);
  const started = Date.now();
  for (let seq = 0; seq < frames; seq++) {
    const due = started + (seq * 1000) / fps;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    pending.set(seq, { capturedAt: Date.now(), label: set.labels[seq % set.count] });
    queue.push(seq);
    pump();
  }
  console.log('offload camera done');
}

async function cloud(args: string[]): Promise<void> {
  const rt = await ModelRuntime.open(arg(args, 'bundle'));
  const m = rt.manifest;
  const channels = m.input.source.channels as 1 | 3;
  const classes = m.labels.length;
  const client = await connect(arg(args, 'broker'));
  client.on('message', async (topic, payload) => {
    const gateway = topic.split('/')[1];
    const pixels = await decodeImage(payload.subarray(4), channels);
    const { features } = await rt.head(preprocessPixels(m, pixels, 1), 1);
    const logits = await rt.tail(features, 1);
    const answer = Buffer.alloc(5);
    payload.copy(answer, 0, 0, 4);
    answer[4] = argmax(logits, 0, classes);
    client.publish(`offload/${gateway}/results`, answer, { qos: 1 });
  });
  await client.subscribeAsync('offload/+/image/+', { qos: 1 });
  console.log('offload cloud ready');
}

const [role, ...rest] = process.argv.slice(2);
(role === 'edge' ? edge(rest) : role === 'cloud' ? cloud(rest) : Promise.reject(new Error('usage: offload.js edge|cloud ...')))
  .catch((err: Error) => { console.error(err.stack ?? err.message); process.exit(1); });
