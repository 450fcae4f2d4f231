// The control plane both links carry beside frames (updates, health): topic filters that
// are subscribed again after every reconnect, and QoS 1 publishes that fail at once while
// the link is down (callers retry, or announce again on connect).
import type { MqttClient } from 'mqtt';

export class ControlPlane {
  readonly filters = new Set<string>();

  /** `client` gives the connected client, or null while the link is down. */
  constructor(private readonly client: () => MqttClient | null) {}

  watch(filter: string): void {
    if (this.filters.has(filter)) return;
    this.filters.add(filter);
    this.client()?.subscribe(filter, { qos: 1 });
  }

  publish(topic: string, payload: string | Buffer, retain = false): Promise<void> {
    const client = this.client();
    if (!client) return Promise.reject(new Error(`not connected (publishing ${topic})`));
    return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve())));
  }
}
