// mqtt.js client options from a split-link's settings: one place that decides TLS,
// protocol version, credentials and the will, for edge and cloud alike.
import { promises as fs } from 'node:fs';
import { Store, type IClientOptions, type IStore } from 'mqtt';

export interface LinkSettings {
  url: string;
  protocolVersion: 4 | 5;
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM files; the CA makes the client verify the broker against it. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Off only by an explicit choice in the editor; on by default. */
  verifyServer?: boolean;
  keepalive?: number;
  reconnectMs?: number;
}

export async function clientOptions(s: LinkSettings, will?: IClientOptions['will']): Promise<IClientOptions> {
  const read = (file?: string) => (file ? fs.readFile(file) : Promise.resolve(undefined));
  const [ca, cert, key] = await Promise.all([read(s.caFile), read(s.certFile), read(s.keyFile)]);
  const opts: IClientOptions = {
    protocolVersion: s.protocolVersion,
    clientId: s.clientId || `split-dnn-${Math.random().toString(16).slice(2, 10)}`,
    username: s.username || undefined,
    password: s.password || undefined,
    keepalive: s.keepalive ?? 30,
    reconnectPeriod: s.reconnectMs ?? 1000,
    connectTimeout: 10_000,
    clean: true,
    // Our own outbox resends; mqtt.js must not also queue offline publishes in memory.
    queueQoSZero: false,
    // A refused CONNECT (bad credentials, ACL, a broker busy in a failover) is retried like a
    // lost connection: a gateway must come back by itself once the broker accepts it again.
    reconnectOnConnackError: true,
    rejectUnauthorized: s.verifyServer !== false,
    will,
  };
  // MQTT 5: after its first frame a topic travels as a 2-byte alias, not its ~40 bytes,
  // which is most of a small frame's own size (the link bench measures it).
  if (s.protocolVersion === 5) opts.autoAssignTopicAlias = true;
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  return opts;
}

/**
 * Small frames and QoS 1 acks are exactly where Nagle's algorithm meets delayed ACKs and
 * adds ~40 ms a hop; mqtt.js does not turn it off, so every link does on each connect.
 */
export function disableNagle(client: { stream?: unknown }): void {
  const socket = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
  socket?.setNoDelay?.(true);
}

/**
 * An mqtt.js outgoing store that holds unacknowledged publishes for one connection only:
 * a reconnect starts empty, so nothing is replayed by mqtt.js (the edge outbox resends).
 */
export class ConnectionStore implements IStore {
  private inner = new Store();
  put(...a: Parameters<IStore['put']>): this { this.inner.put(...a); return this; }
  del(...a: Parameters<IStore['del']>): this { this.inner.del(...a); return this; }
  get(...a: Parameters<IStore['get']>): this { this.inner.get(...a); return this; }
  close(cb: Parameters<IStore['close']>[0]): void { this.inner.close(cb); }
  /** Called by mqtt.js on each (re)connect to replay what is stored. */
  createStream(): ReturnType<IStore['createStream']> {
    this.inner = new Store();
    return this.inner.createStream();
  }
}
