// The systemd side of a self-healing service. Node cannot open the AF_UNIX datagram socket
// that sd_notify uses (dgram is UDP only) and native addons are out, so notifications go
// through systemd's own `systemd-notify` (the unit sets NotifyAccess=all for it).
// A watchdog thread pings systemd only while the runtime proves it answers: the main
// thread bumps a shared counter after each successful probe (the event loop ran, the
// editor answered HTTP). When the counter stops, the thread stops pinging and kills the
// process, so systemd restarts it even where WatchdogSec is not set.
import { execFile } from 'node:child_process';
import { Worker } from 'node:worker_threads';

export function sdNotify(...assignments: string[]): Promise<boolean> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve(false);
  return new Promise((resolve) => execFile('systemd-notify', assignments, { timeout: 5000 }, (err) => resolve(!err)));
}

export interface WatchdogOptions {
  /** Ping interval; default half of systemd's WATCHDOG_USEC, else 5 s. */
  intervalMs?: number;
  /** No successful probe for this long: the runtime is taken for dead (default 3 intervals). */
  stallMs?: number;
  /** Resolves true when the runtime answers (default: the event loop ran). */
  probe?: () => Promise<boolean>;
}

const THREAD = `
const { workerData } = require('node:worker_threads');
const { execFileSync } = require('node:child_process');
const beat = new Int32Array(workerData.shared);
let last = Atomics.load(beat, 0), lastChange = Date.now();
const notify = (...a) => { try { execFileSync('systemd-notify', a, { timeout: 5000, stdio: 'ignore' }); } catch {} };
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; lastChange = Date.now(); if (workerData.notify) notify('WATCHDOG=1'); return; }
  if (Date.now() - lastChange < workerData.stallMs) return;
  if (workerData.notify) notify('STATUS=runtime stopped answering; exiting for a restart');
  // Straight to fd 2: a worker's process.stderr goes through the (hung) main thread.
  require('node:fs').writeSync(2, 'split-dnn: watchdog: the runtime has not answered for ' + (Date.now() - lastChange) + ' ms; exiting so the service manager restarts it\\n');
  process.kill(process.pid, 'SIGKILL');
}, workerData.intervalMs);
`;

export class Watchdog {
  private readonly beat = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  readonly intervalMs: number;

  constructor(opts: WatchdogOptions = {}) {
    const usec = Number(process.env.WATCHDOG_USEC);
    this.intervalMs = opts.intervalMs ?? (usec > 0 ? Math.max(500, usec / 2000) : 5000);
    const stallMs = opts.stallMs ?? 3 * this.intervalMs;
    const probe = opts.probe ?? (() => Promise.resolve(true));
    let probing = false;
    // Probes run on the main event loop: a blocked loop fails them by never running them.
    this.timer = setInterval(() => {
      if (probing) return;
      probing = true;
      probe().then((ok) => { if (ok) Atomics.add(this.beat, 0, 1); }, () => undefined).finally(() => { probing = false; });
    }, Math.max(100, this.intervalMs / 2));
    this.timer.unref();
    this.worker = new Worker(THREAD, { eval: true, workerData: { shared: this.beat.buffer, intervalMs: this.intervalMs, stallMs, notify: !!process.env.NOTIFY_SOCKET } });
    this.worker.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.worker.terminate();
  }
}

/** A probe that the local editor/admin API answers HTTP at all (any status: a locked editor says 401). */
export function httpProbe(url: string, timeoutMs = 3000): () => Promise<boolean> {
  return () => fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then((res) => { void res.body?.cancel(); return true; }, () => false);
}
