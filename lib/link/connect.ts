// mqtt.js client options from a split-link's settings: one place that decides TLS,
// protocol version, credentials and the will, for edge and cloud alike.
import { promises as fs } from 'node:fs';
import type { IClientOptions } from 'mqtt';

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
    rejectUnauthorized: s.verifyServer !== false,
    will,
  };
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
