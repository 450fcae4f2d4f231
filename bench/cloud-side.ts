// The cloud end of a shaped-link bench: mosquitto in the cloud namespace, and the cloud
// processes started once on first use (the shipped cloud flow, the offload receiver);
// signals and failures take the namespaces down with them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE, DIST } from '../test/support/paths';
import { startRuntime } from '../test/support/runtime';
import { ShapedLink, startReady } from './shaped-link';

export class CloudSide {
  private readonly stops: (() => Promise<unknown>)[] = [];
  private pipelineUp: Promise<void> | null = null;
  private offloadUp: Promise<void> | null = null;
  private readonly onSignal = () => { void this.link.close().then(() => process.exit(130)); };
  readonly local: string;

  constructor(readonly link: ShapedLink, private readonly dir: string, private readonly brokerPort: number) {
    this.local = `mqtt://127.0.0.1:${brokerPort}`;
    // An interrupted bench must not leave namespaces behind.
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  async startBroker(): Promise<void> {
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, `listener ${this.brokerPort} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\nlog_dest stderr\n`);
    const broker = await startReady([...this.link.inNs(this.link.cloudNs), '/usr/sbin/mosquitto', '-c', conf], /running/, 'mosquitto');
    this.stops.push(async () => broker.kill('SIGKILL'));
  }

  /** The shipped cloud flow (`split-dnn start --role cloud`). */
  pipeline(): Promise<void> {
    return (this.pipelineUp ??= (async () => {
      const cloud = await startRuntime(['--role', 'cloud', '--user-dir', path.join(this.dir, 'cloud'), '--reset-flows', '--gateway', 'cloud', '--broker', this.local, '--mqtt-version', '5', '--bundle', BUNDLE], {}, this.link.inNs(this.link.cloudNs));
      this.stops.push(() => cloud.stop('SIGKILL'));
      await cloud.waitFor(/\[mqtt-transmit:from gateways\] link connected/);
    })());
  }

  /** The whole model behind an image receiver (bench/offload.ts). */
  offload(): Promise<void> {
    return (this.offloadUp ??= (async () => {
      const p = await startReady([...this.link.inNs(this.link.cloudNs), process.execPath, path.join(DIST, 'bench', 'offload.js'), 'cloud', '--broker', this.local, '--bundle', BUNDLE], /ready/, 'offload cloud');
      this.stops.push(async () => p.kill('SIGKILL'));
    })());
  }

  async close(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const stop of this.stops.reverse()) await stop().catch(() => undefined);
    await this.link.close();
  }
}
