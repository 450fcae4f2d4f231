// A TCP proxy that can go silent: it stops moving bytes both ways without closing anything,
// as a dropped network path does (no reset, no FIN; only keepalives can notice). Bytes held
// meanwhile move on when it heals, as TCP's retransmissions would.
import * as net from 'node:net';

export interface Proxy {
  port: number;
  url: string;
  blackhole(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  let flowing = true;
  const sockets = new Set<net.Socket>();
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (d) => { if (!to.write(d)) from.pause(); });
    to.on('drain', () => { if (flowing) from.resume(); });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    relay(client, upstream);
    relay(upstream, client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      if (!flowing) s.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    blackhole: () => { flowing = false; for (const s of sockets) s.pause(); },
    heal: () => { flowing = true; for (const s of sockets) s.resume(); },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
