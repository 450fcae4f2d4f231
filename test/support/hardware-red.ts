// The hardware nodes in node-red-node-test-helper, with the serial binding swapped for a
// FakeArduino's (through the gatewayBoardBinding runtime setting), and status recording.
import type { NodeStatus } from 'node-red';
import { helper, ALL_NODES, nodeModule } from './red';
import type { FakeArduino } from './fake-arduino';

export const HARDWARE_NODES = ['gateway-board', 'board-source', 'camera-source', 'board-actuator'].map(nodeModule);

export async function loadHardwareFlow(fake: FakeArduino | null, flow: object[]): Promise<void> {
  helper.settings(fake ? { gatewayBoardBinding: fake.binding } : {});
  await helper.load([...ALL_NODES, ...HARDWARE_NODES], flow, {});
}

export const boardNode = (fake: FakeArduino, extra: object = {}) => ({ id: 'board', type: 'gateway-board', port: fake.path, baud: '57600', reconnect: '0.2', ...extra });

/** Every status a node shows from now on, and a way to wait for one. */
export class StatusLog {
  readonly seen: NodeStatus[] = [];
  private waiters: Array<{ test: (s: NodeStatus) => boolean; resolve: (s: NodeStatus) => void }> = [];

  constructor(nodeId: string) {
    const node = helper.getNode(nodeId);
    const status = node.status.bind(node);
    node.status = (s: NodeStatus) => {
      this.seen.push(s);
      this.waiters = this.waiters.filter((w) => (w.test(s) ? (w.resolve(s), false) : true));
      status(s);
    };
  }

  get last(): NodeStatus | undefined {
    return this.seen.at(-1);
  }

  wait(test: (s: NodeStatus) => boolean, timeoutMs = 5000): Promise<NodeStatus> {
    if (this.last && test(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such status in ${timeoutMs} ms; seen ${JSON.stringify(this.seen.slice(-5))}`)), timeoutMs);
      this.waiters.push({ test, resolve: (s) => { clearTimeout(timer); resolve(s); } });
    });
  }
}
