// mqtt.js client options from a split-link's settings: one place that decides TLS,
// protocol version, credentials and the will, for edge and cloud alike.
import { promises as fs } from 'node:fs';
import * as mqtt from 'mqtt';
import { Store, type IClientOptions, type IStore, type MqttClient } from 'mqtt';

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

/** A PEM file of the settings, or an error that names it (the link stays closed until it can be read). */
async function readPem(what: string, file?: string): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function clientOptions(s: LinkSettings, will?: IClientOptions['will']): Promise<IClientOptions> {
  const [ca, cert, key] = await Promise.all([readPem('CA file', s.caFile), readPem('certificate file', s.certFile), readPem('key file', s.keyFile)]);
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
    // mqtt-packet's cache of 65,536 two-byte packet-id Buffers is 6 MB of heap on a gateway
    // (a heap snapshot of the edge); writing the id per packet costs nothing at our rates.
    writeCache: false,
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

/** Node's codes for a broker certificate that does not verify. */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** A connection error as an operator can act on it: a TLS refusal names the host and the CA it was checked against. */
export function describeLinkError(err: Error, s: LinkSettings): Error {
  const code = String((err as NodeJS.ErrnoException).code ?? '');
  if (!TLS_CODES.test(code) && !/certificate/i.test(err.message)) return err;
  let host = s.url;
  try { host = new URL(s.url).host; } catch { /* keep the url */ }
  const against = s.caFile ? `CA file ${s.caFile}` : 'the system CAs (no CA file set)';
  return Object.assign(new Error(`TLS: broker ${host} not verified against ${against}: ${err.message}`), { code });
}

/**
 * mqtt.connect once the settings' files can be read. Until then `fail` hears why, every
 * `retryMs`, and nothing else happens: the link keeps what it holds (the edge's outbox).
 * Returns a function that stops the retries.
 */
export function connectWhenReady(
  s: LinkSettings, extra: Partial<IClientOptions>, connected: (client: MqttClient) => void, fail: (err: Error) => void, retryMs = 5000,
): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const attempt = () => {
    clientOptions(s, extra.will).then((opts) => {
      if (!stopped) connected(mqtt.connect(s.url, { ...opts, ...extra }));
    }, (err: Error) => {
      if (stopped) return;
      fail(err);
      timer = setTimeout(attempt, retryMs);
      timer.unref();
    });
  };
  attempt();
  return () => { stopped = true; if (timer) clearTimeout(timer); };
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
