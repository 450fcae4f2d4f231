// Two network namespaces joined by a veth pair, each end shaped with a token bucket (tc
// tbf), plus a one-way delay. This kernel has no netem (`tc qdisc add … netem` answers
// "Specified qdisc kind is unknown"), so the delay comes from a userspace TCP relay on the
// cloud side (bench/delay-proxy.ts) that holds every chunk for the delay, each way. Needs
// root and iproute2; everything it makes is removed by close(), also after a failure.
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ShapedLinkOptions { kbitPerSec: number; delayMs: number }

export interface ShapedLink {
  edgeNs: string;
  cloudNs: string;
  /** The address the edge reaches the cloud's broker on (through the delay relay). */
  brokerUrl: string;
  /** `ip netns exec <ns>`: prefix a command with it to run it in a namespace. */
  inNs(ns: string): string[];
  setRate(kbitPerSec: number): void;
  /** Bytes sent by the edge and by the cloud side of the link so far (IP and TCP included). */
  bytes(): { edgeTx: number; cloudTx: number };
  /** The same at the IP level (the veth's 14 B Ethernet header per packet taken off), with the packet counts. */
  ipBytes(): { edgeTx: number; cloudTx: number; edgePackets: number; cloudPackets: number };
  close(): Promise<void>;
}

const EDGE_IP = '10.77.0.1';
const CLOUD_IP = '10.77.0.2';
const RELAY_PORT = 1884;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const tc = (...args: string[]) => execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] });

// A buffer of about a second at the configured rate: a bottleneck router queues, it does not drop at once.
const tbf = (kbit: number) => ['tbf', 'rate', `${kbit}kbit`, 'burst', '1600', 'latency', '1000ms'];

function tx(ns: string, dev: string): { bytes: number; packets: number } {
  const stats = JSON.parse(ip('-n', ns, '-j', '-s', 'link', 'show', dev)) as { stats64: { tx: { bytes: number; packets: number } } }[];
  return stats[0].stats64.tx;
}
const txBytes = (ns: string, dev: string) => tx(ns, dev).bytes;
const ETHERNET_HEADER = 14;

/** Starts a process and resolves once it printed `ready` (or rejects when it exits first). */
export function startReady(command: string[], ready: RegExp, what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve(proc);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
}

export async function createShapedLink(o: ShapedLinkOptions, workDir: string, brokerPort: number): Promise<ShapedLink> {
  const tag = `sdnn${process.pid % 100000}`;
  const edgeNs = `${tag}-edge`;
  const cloudNs = `${tag}-cloud`;
  const children: ChildProcess[] = [];
  const close = async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of [edgeNs, cloudNs]) {
      try { ip('netns', 'del', ns); } catch { /* not made yet */ }
    }
  };
  try {
    ip('netns', 'add', edgeNs);
    ip('netns', 'add', cloudNs);
    ip('link', 'add', `${tag}e`, 'type', 'veth', 'peer', 'name', `${tag}c`);
    ip('link', 'set', `${tag}e`, 'netns', edgeNs);
    ip('link', 'set', `${tag}c`, 'netns', cloudNs);
    for (const [ns, dev, addr] of [[edgeNs, `${tag}e`, EDGE_IP], [cloudNs, `${tag}c`, CLOUD_IP]]) {
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      tc('-n', ns, 'qdisc', 'add', 'dev', dev, 'root', ...tbf(o.kbitPerSec));
    }
    const inNs = (ns: string) => ['ip', 'netns', 'exec', ns];
    const relay = path.join(__dirname, 'delay-proxy.js');
    children.push(await startReady([...inNs(cloudNs), process.execPath, relay, `${CLOUD_IP}:${RELAY_PORT}`, `127.0.0.1:${brokerPort}`, String(o.delayMs)], /relaying/, 'delay relay'));
    fs.mkdirSync(workDir, { recursive: true });
    return {
      edgeNs, cloudNs, inNs,
      brokerUrl: `mqtt://${CLOUD_IP}:${RELAY_PORT}`,
      setRate: (kbit) => {
        tc('-n', edgeNs, 'qdisc', 'change', 'dev', `${tag}e`, 'root', ...tbf(kbit));
        tc('-n', cloudNs, 'qdisc', 'change', 'dev', `${tag}c`, 'root', ...tbf(kbit));
      },
      bytes: () => ({ edgeTx: txBytes(edgeNs, `${tag}e`), cloudTx: txBytes(cloudNs, `${tag}c`) }),
      ipBytes: () => {
        const e = tx(edgeNs, `${tag}e`);
        const c = tx(cloudNs, `${tag}c`);
        return { edgeTx: e.bytes - ETHERNET_HEADER * e.packets, cloudTx: c.bytes - ETHERNET_HEADER * c.packets, edgePackets: e.packets, cloudPackets: c.packets };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
