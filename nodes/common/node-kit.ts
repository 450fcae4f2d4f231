// Plumbing shared by the runtime side of every node: the async input handler that turns a
// thrown error into a red status plus done(err) (and keeps serving the next message), and
// a status line that is repainted at most a few times a second however fast frames flow.
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

// The small profile (split-dnn start --profile small) repaints once a second.
const REPAINT_MS = Number(process.env.SPLIT_DNN_REPAINT_MS) || 250;

export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private errorUntil = 0;

  constructor(private readonly node: Node, private readonly render: () => NodeStatus) {}

  /** Ask for a repaint; coalesced so a 2,000 frame/s flow does not flood the editor. */
  update(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() >= this.errorUntil) this.node.status(this.render());
    }, REPAINT_MS);
  }

  now(): void {
    if (Date.now() >= this.errorUntil) this.node.status(this.render());
  }

  /** Show an error for a few seconds, then go back to the counts. */
  error(text: string): void {
    this.errorUntil = Date.now() + 3000;
    this.node.status({ fill: 'red', shape: 'ring', text: text.length > 40 ? `${text.slice(0, 39)}…` : text });
    setTimeout(() => this.update(), 3000).unref();
  }

  set(status: NodeStatus): void {
    this.errorUntil = 0;
    this.node.status(status);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Registers an async input handler. A rejection becomes done(err) (so Catch nodes see it)
 * and a short red status; the node keeps serving the next message.
 */
export function handleInput(
  node: Node,
  status: StatusLine,
  handler: (msg: NodeMessageInFlow, send: Send) => Promise<void>,
  onError?: (err: Error) => void,
): void {
  node.on('input', (msg, send, done) => {
    handler(msg, send).then(() => done(), (err: Error) => {
      onError?.(err);
      status.error(err.message);
      done(err);
    });
  });
}

/**
 * Status texts that are fixed phrases are message ids: the editor shows them from the node's
 * locales catalog. One with a namespace (`<module>/<set>:`) may be shown by any node.
 */
export const NO_MODEL = 'node-red-contrib-split-dnn/split-model:split-model.status.none';

/** Root of this package (where models/ and examples/ live), from dist/nodes/common. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * A bundle path as typed in the editor: absolute, or relative to the Node-RED user dir,
 * or relative to this package (so the shipped `models/fmnist-cnn` works everywhere).
 */
export function resolveBundleDir(dir: string, userDir?: string): string {
  if (path.isAbsolute(dir)) return dir;
  const candidates = [userDir && path.resolve(userDir, dir), path.resolve(PACKAGE_ROOT, dir), path.resolve(dir)].filter(Boolean) as string[];
  return candidates.find((c) => fs.existsSync(path.join(c, 'manifest.json'))) ?? candidates[0];
}

/** A runtime message from the node's catalog: Node-RED's `RED._`, with `__name__` fields. */
export type Say = NodeAPI['_'];

/** The parts of a status line that apply, each a phrase from the catalog, in order. */
export function statusParts(...parts: Array<string | false | null | undefined>): string {
  return parts.filter(Boolean).join(', ');
}

/** Count formatting for status lines: 1234 → 1.2k. */
export function short(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/**
 * Log lines about what peers send, at most `burst` per key (say gateway and reason) every
 * `everyMs`, with how many were held back: a flood of bad messages must not flood the log.
 */
export class LogThrottle {
  private readonly keys = new Map<string, { since: number; lines: number; held: number }>();
  constructor(private readonly everyMs = 10_000, private readonly burst = 3, private readonly maxKeys = 256) {}

  /** The line to log now, or null to hold it back. */
  line(key: string, text: string, now = Date.now()): string | null {
    let k = this.keys.get(key);
    if (!k || now - k.since >= this.everyMs) {
      if (!k && this.keys.size >= this.maxKeys) this.keys.clear();
      const held = k?.held ?? 0;
      k = { since: now, lines: 0, held: 0 };
      this.keys.set(key, k);
      if (held) text = `${text} (and ${held} more like it before this)`;
    }
    if (k.lines >= this.burst) {
      k.held++;
      return null;
    }
    k.lines++;
    return text;
  }
}
