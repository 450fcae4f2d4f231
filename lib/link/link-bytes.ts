// Link bytes: what the TCP socket under an MQTT client wrote and read (MQTT headers, topics,
// PUBACKs, pings included; IP/TCP headers not: the bench counts those on the wire). Kept
// across reconnects, each socket counted once.
import type { MqttClient } from 'mqtt';

interface Counted { bytesWritten?: number; bytesRead?: number }

export class LinkBytes {
  private closedSent = 0;
  private closedReceived = 0;
  private socket: Counted | null = null;

  /** Count the client's current socket from now on (call on every connect). */
  watch(client: MqttClient): void {
    const stream = (client as unknown as { stream?: Counted & { once?: (e: string, f: () => void) => void } }).stream;
    if (!stream || stream === this.socket) return;
    this.retire();
    this.socket = stream;
    stream.once?.('close', () => { if (this.socket === stream) this.retire(); });
  }

  private retire(): void {
    if (!this.socket) return;
    this.closedSent += this.socket.bytesWritten ?? 0;
    this.closedReceived += this.socket.bytesRead ?? 0;
    this.socket = null;
  }

  get sent(): number { return this.closedSent + (this.socket?.bytesWritten ?? 0); }
  get received(): number { return this.closedReceived + (this.socket?.bytesRead ?? 0); }
}
