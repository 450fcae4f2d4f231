// `node dist/bench/delay-proxy.js LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS`
// A TCP relay that holds every chunk for DELAY_MS before passing it on, in both
// directions and in order: a propagation delay for kernels without netem. Bandwidth is
// shaped elsewhere (tc tbf on the link); this adds only time.
import * as net from 'node:net';

function hostPort(text: string): [string, number] {
  const at = text.lastIndexOf(':');
  return [text.slice(0, at), Number(text.slice(at + 1))];
}

function delayed(from: net.Socket, to: net.Socket, delayMs: number): void {
  // Chunks leave in arrival order: each waits for its own due time behind the one before.
  const queue: { due: number; data: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    const now = Date.now();
    while (queue.length && queue[0].due <= now) to.write(queue.shift()!.data);
    if (queue.length) timer = setTimeout(flush, queue[0].due - now);
  };
  from.on('data', (data) => {
    queue.push({ due: Date.now() + delayMs, data });
    timer ??= setTimeout(flush, delayMs);
  });
  from.on('close', () => setTimeout(() => to.destroy(), delayMs));
  from.on('error', () => to.destroy());
}

function main(): void {
  const [listen, target, delay] = process.argv.slice(2);
  if (!listen || !target || !delay) {
    console.error('usage: delay-proxy LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS');
    process.exit(2);
  }
  const [host, port] = hostPort(listen);
  const [targetHost, targetPort] = hostPort(target);
  const delayMs = Number(delay);
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(targetPort, targetHost);
    upstream.setNoDelay(true);
    delayed(client, upstream, delayMs);
    delayed(upstream, client, delayMs);
  });
  server.listen(port, host, () => console.log(`relaying ${listen} -> ${target} with ${delayMs} ms each way`));
}

main();
